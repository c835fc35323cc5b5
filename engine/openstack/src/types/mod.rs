//! What the services' calls share: the lenient deserializers their result
//! types use (Cinder's `bootable: "false"`, nulls, strings `"null"`,
//! non-string metadata), OpenStack timestamps, request metadata, and the
//! official API samples the tests read. Each service's request bodies and
//! results live beside its calls (`nova/`, `cinder/`, `neutron/`,
//! `glance.rs`, …).

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::fmt;

/// A request body's `metadata`: a JSON object.
pub(crate) type Meta = Map<String, Value>;

/// An OpenStack timestamp: RFC 3339 (`2026-12-02T10:00:00Z`) or, as Cinder
/// and Nova write them, without a zone and read as UTC
/// (`2026-12-02T10:00:00.000000`). `None` if neither.
pub fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// A bool that may arrive as `true`, `"true"`, `"True"` or null: a string
/// is true when it says so, a whole number when it is not 0 (within `i64`),
/// anything else false.
pub(crate) fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(LooseBool)
}

/// A string that may arrive as null or `"null"` (Cinder's manage sample):
/// both become the empty string; a number, a bool, a list or an object
/// becomes its JSON text.
pub(crate) fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(Text {
        null_word_is_empty: true,
    })
}

/// Metadata values as strings (Glance and Swift may use non-strings): a
/// string as it is, null as empty, anything else as its JSON text; not an
/// object at all, no metadata. Of a key given twice, the last value.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    d.deserialize_any(StringMap)
}

// The lenient readers read the parser's tokens straight into the field,
// not through a `Value` (an answer's every string field went through one,
// and every metadata map through a hashed map: a fifth of the client's
// instructions in a scale run).

/// A JSON value read as text (see [`loose_string`] and [`string_map`]).
#[derive(Clone, Copy)]
struct Text {
    /// The string `"null"` reads as empty too.
    null_word_is_empty: bool,
}

impl<'de> DeserializeSeed<'de> for Text {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
        Ok(if self.null_word_is_empty && s == "null" {
            String::new()
        } else {
            s.to_owned()
        })
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<String, E> {
        Ok(if self.null_word_is_empty && s == "null" {
            String::new()
        } else {
            s
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<String, E> {
        Ok(b.to_string())
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<String, E> {
        Ok(n.to_string())
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<String, E> {
        Ok(n.to_string())
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<String, E> {
        Ok(Value::from(n).to_string())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(|v| v.to_string())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(|v| v.to_string())
    }
}

struct LooseBool;

impl<'de> Visitor<'de> for LooseBool {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
        Ok(b)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
        Ok(s.eq_ignore_ascii_case("true"))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<bool, E> {
        Ok(n != 0)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<bool, E> {
        Ok(i64::try_from(n).is_ok_and(|n| n != 0))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

struct StringMap;

impl<'de> Visitor<'de> for StringMap {
    type Value = std::collections::BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Self::Value::new();
        let text = Text {
            null_word_is_empty: false,
        };
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(text)?;
            out.insert(k, v);
        }
        Ok(out)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::Value::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::Value::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::Value::new())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Self::Value::new())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Self::Value::new())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Self::Value::new())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Self::Value::new())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Self::Value::new())
    }
}

/// The official API samples beside the clone (`../shared/fixtures/…`), or
/// `None` with a one-line reason when they are not there (a clone with
/// nothing beside it); under CI their absence is a failure.
#[cfg(test)]
pub(crate) fn fixtures_or_skip() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(format!(
        "{}/../../../shared/fixtures/openstack-api-samples",
        env!("CARGO_MANIFEST_DIR")
    ));
    if p.is_dir() {
        return Some(p);
    }
    let under_ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && v != "false")
        .unwrap_or(false);
    assert!(
        !under_ci,
        "the API samples are required under CI: {} is missing",
        p.display()
    );
    eprintln!(
        "skipping: the API samples are not beside this clone ({})",
        p.display()
    );
    None
}

#[cfg(test)]
pub(crate) fn sample(rel: &str) -> String {
    let p = format!(
        "{}/../../../shared/fixtures/openstack-api-samples/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The typed request bodies of the calls that create or change something
/// (Nova's and Cinder's). Each serializes to the shape of the official
/// request sample.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::cinder::{
        BackupRecord, BackupSpec, CreateBackup, CreateGroup, CreateGroupSnapshot, CreateSnapshot,
        CreateVolume, GroupChange, GroupSnapshotSpec, GroupSpec, ImportRecord, ManageSpec,
        ManageVolume, RestoreBackup, RestoreSpec, Retype, RetypeSpec, SnapshotSpec, UpdateGroup,
        VolumeSpec,
    };
    use crate::nova::{
        AttachVolume, BlockDeviceMapping, CreateImage, CreateServer, NameMeta, ServerSpec,
        VolumeRef,
    };
    use serde_json::json;

    /// Every key of `ours` (recursively into objects) is a key the sample
    /// uses, apart from `extra` (documented for later microversions).
    fn conforms(ours: &Value, sample_file: &str, extra: &[&str]) {
        let want: Value = serde_json::from_str(&sample(sample_file)).unwrap();
        fn walk(o: &Value, w: &Value, extra: &[&str], path: &str, file: &str) {
            if let (Some(o), Some(w)) = (o.as_object(), w.as_object()) {
                for (k, v) in o {
                    if extra.contains(&k.as_str()) {
                        continue;
                    }
                    let wv = w.get(k).unwrap_or_else(|| {
                        panic!(
                            "{file}: {path}.{k} is not in the sample (keys: {:?})",
                            w.keys().collect::<Vec<_>>()
                        )
                    });
                    if wv.is_object() && k != "metadata" && k != "ref" {
                        walk(v, wv, extra, &format!("{path}.{k}"), file);
                    }
                }
            }
        }
        walk(ours, &want, extra, "", sample_file);
    }

    #[test]
    fn bodies_match_the_official_samples() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let meta = Map::new();
        let to = |v: &dyn erased::Ser| v.value();
        conforms(
            &to(&CreateSnapshot {
                snapshot: SnapshotSpec {
                    volume_id: "v",
                    name: "n",
                    force: true,
                    metadata: &meta,
                },
            }),
            "cinder/snapshots/snapshot-create-request.json",
            &[],
        );
        conforms(
            &to(&CreateVolume {
                volume: VolumeSpec {
                    size: 1,
                    name: "n",
                    description: "d",
                    snapshot_id: Some("s"),
                    metadata: &meta,
                },
            }),
            "cinder/volumes/volume-create-request.json",
            &[],
        );
        conforms(
            &to(&CreateBackup {
                backup: BackupSpec {
                    volume_id: "v",
                    snapshot_id: Some("s"),
                    name: "n",
                    incremental: true,
                    force: true,
                    container: Some("c"),
                    metadata: &meta,
                },
            }),
            "cinder/backups/backup-create-request.json",
            &["metadata"],
        );
        conforms(
            &to(&RestoreBackup {
                restore: RestoreSpec {
                    name: Some("n"),
                    volume_id: None,
                },
            }),
            "cinder/backup-restore-request.json",
            &[],
        );
        let rec = BackupRecord {
            backup_service: "s".into(),
            backup_url: "u".into(),
        };
        conforms(
            &to(&ImportRecord {
                backup_record: &rec,
            }),
            "cinder/backup-record-import-request.json",
            &[],
        );
        conforms(
            &to(&CreateGroup {
                group: GroupSpec {
                    name: "g",
                    description: "d",
                    group_type: "t",
                    volume_types: &["x".to_string()],
                },
            }),
            "cinder/group-create-request.json",
            &[],
        );
        conforms(
            &to(&UpdateGroup {
                group: GroupChange {
                    add_volumes: Some("a,b".into()),
                    remove_volumes: None,
                },
            }),
            "cinder/group-update-request.json",
            &[],
        );
        conforms(
            &to(&CreateGroupSnapshot {
                group_snapshot: GroupSnapshotSpec {
                    group_id: "g",
                    name: "n",
                    description: "d",
                },
            }),
            "cinder/group-snapshots-create-request.json",
            &[],
        );
        let mut r = Map::new();
        r.insert("source-name".into(), json!("volume-1"));
        conforms(
            &to(&ManageVolume {
                volume: ManageSpec {
                    host: "h",
                    reference: r,
                    name: "n",
                    volume_type: Some("t"),
                    bootable: true,
                    metadata: &meta,
                },
            }),
            "cinder/volume_manage_extensions/volume-manage-request.json",
            &[],
        );
        conforms(
            &to(&Retype {
                retype: RetypeSpec {
                    new_type: "t",
                    migration_policy: "never",
                },
            }),
            "cinder/volume-os-retype-request.json",
            &[],
        );
        conforms(
            &to(&AttachVolume {
                volume_attachment: VolumeRef { volume_id: "v" },
            }),
            "nova/os-volume_attachments/attach-volume-to-server-req.json",
            &[],
        );
        conforms(
            &to(&CreateImage {
                create_image: NameMeta {
                    name: "i",
                    metadata: &meta,
                },
            }),
            "nova/servers/v2.45/server-action-create-image.json",
            &[],
        );
        let srv = CreateServer {
            server: ServerSpec {
                name: "s",
                flavor_ref: "f",
                networks: json!("none"),
                metadata: &meta,
                key_name: Some("k"),
                availability_zone: Some("nova"),
                tags: &[],
                block_device_mapping_v2: vec![BlockDeviceMapping {
                    boot_index: 0,
                    uuid: "v",
                    source_type: "volume",
                    destination_type: "volume",
                    delete_on_termination: false,
                }],
            },
            scheduler_hints: Some(json!({"group": "g"})),
        };
        // No published sample boots from a volume; check the server keys
        // against the 2.37 create sample and the mapping's by hand.
        conforms(
            &to(&srv),
            "nova/servers/server-create-req-v237.json",
            &[
                "block_device_mapping_v2",
                "metadata",
                "key_name",
                "availability_zone",
                "os:scheduler_hints",
            ],
        );
        let v = to(&srv);
        assert_eq!(
            v["server"]["block_device_mapping_v2"][0]["boot_index"],
            json!(0)
        );
    }

    /// The lenient readers read as reading a whole `Value` first would
    /// (the way they read before): every kind of JSON value, through a
    /// string parser and through a `Value` already parsed.
    #[test]
    fn lenient_fields_read_as_a_value_would() {
        fn text_of(v: Value, null_word_is_empty: bool) -> String {
            match v {
                Value::String(s) if null_word_is_empty && s == "null" => String::new(),
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            }
        }
        fn bool_of(v: Value) -> bool {
            match v {
                Value::Bool(b) => b,
                Value::String(s) => s.eq_ignore_ascii_case("true"),
                Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
                _ => false,
            }
        }
        fn map_of(v: Value) -> std::collections::BTreeMap<String, String> {
            match v {
                Value::Object(m) => m.into_iter().map(|(k, v)| (k, text_of(v, false))).collect(),
                _ => Default::default(),
            }
        }
        let inputs = [
            r#""abc""#,
            r#""null""#,
            r#""NULL""#,
            r#""""#,
            r#""tr\u00fce \"q\"""#,
            "null",
            "true",
            "false",
            r#""True""#,
            r#""yes""#,
            "0",
            "1",
            "-7",
            "18446744073709551615",
            "9223372036854775808",
            "9223372036854775807",
            "1.0",
            "1.5",
            "-0.0",
            "-0",
            "1e300",
            "2.5e-8",
            "[]",
            r#"[1, "a", null, {"b": [true]}]"#,
            "{}",
            r#"{"a": "x", "b": null, "c": 3, "d": "null", "e": {"f": [1.5]}, "a": "last"}"#,
            r#"{"k": true, "l": [null]}"#,
        ];
        for input in inputs {
            let v: Value = serde_json::from_str(input).unwrap();
            let mut de = serde_json::Deserializer::from_str(input);
            assert_eq!(
                loose_string(&mut de).unwrap(),
                text_of(v.clone(), true),
                "{input}"
            );
            let mut de = serde_json::Deserializer::from_str(input);
            assert_eq!(loose_bool(&mut de).unwrap(), bool_of(v.clone()), "{input}");
            let mut de = serde_json::Deserializer::from_str(input);
            assert_eq!(string_map(&mut de).unwrap(), map_of(v.clone()), "{input}");
            // A value parsed already (a paged list's items are).
            assert_eq!(
                loose_string(v.clone()).unwrap(),
                text_of(v.clone(), true),
                "{input}"
            );
            assert_eq!(
                loose_bool(v.clone()).unwrap(),
                bool_of(v.clone()),
                "{input}"
            );
            assert_eq!(string_map(v.clone()).unwrap(), map_of(v), "{input}");
        }
        // In a result type, beside the fields it skips.
        #[derive(Deserialize)]
        struct R {
            #[serde(default, deserialize_with = "loose_string")]
            s: String,
            #[serde(default, deserialize_with = "loose_bool")]
            b: bool,
            #[serde(default, deserialize_with = "string_map")]
            m: std::collections::BTreeMap<String, String>,
        }
        let r: R = serde_json::from_str(
            r#"{"x": [1, {"y": 2}], "s": 12, "b": "TRUE", "m": {"k": 1}, "z": null}"#,
        )
        .unwrap();
        assert_eq!((r.s.as_str(), r.b, r.m["k"].as_str()), ("12", true, "1"));
        let r: R = serde_json::from_str("{}").unwrap();
        assert_eq!((r.s.as_str(), r.b, r.m.len()), ("", false, 0));
    }

    mod erased {
        pub trait Ser {
            fn value(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Ser for T {
            fn value(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap()
            }
        }
    }
}
