//! Answer bodies written straight from the world into the answer's bytes,
//! not built as `serde_json::Value`s first: every key of such a value is
//! allocated and hashed, every field copied, before the whole is walked
//! again to be written.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// `{key: value}`: the envelope of most answers (`{"volume": {...}}`).
pub struct One<'a, T>(pub &'a str, pub T);

impl<T: Serialize> Serialize for One<'_, T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &self.1)?;
        m.end()
    }
}

/// The items of an iterator as a JSON list.
pub struct Seq<I>(pub I);

impl<I> Serialize for Seq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.0.clone())
    }
}

/// One link of a resource (`{"href": …, "rel": "self"}`).
#[derive(Serialize)]
pub struct Link {
    pub href: String,
    pub rel: &'static str,
}

impl Link {
    pub fn new(href: String, rel: &'static str) -> Link {
        Link { href, rel }
    }
}

/// A resource's `self` and `bookmark` links, as Nova and Cinder list them.
pub fn self_and_bookmark(own: String, bookmark: String) -> [Link; 2] {
    [Link::new(own, "self"), Link::new(bookmark, "bookmark")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_lists() {
        let v = One("volume", One("ids", Seq([1, 2].iter().map(|n| n * 10))));
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"volume":{"ids":[10,20]}}"#
        );
        let empty = One("x", Seq(std::iter::empty::<u8>()));
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"x":[]}"#);
        let links = self_and_bookmark("a".into(), "b".into());
        assert_eq!(
            serde_json::to_string(&links).unwrap(),
            r#"[{"href":"a","rel":"self"},{"href":"b","rel":"bookmark"}]"#
        );
    }
}
