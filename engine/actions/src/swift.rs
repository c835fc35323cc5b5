//! The `swift.*` actions: put, get and delete an object.

use crate::args::{from_client, ClientResult};
use crate::records::ObjectRec;
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::ErrorKind;
use serde_json::Value;

pub async fn put_object(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let container = cx.args.required_string("container")?;
    let name = cx.args.required_string("name")?;
    let content = cx.args.string("content")?;
    let ct = if content.trim_start().starts_with('{') || content.trim_start().starts_with('[') { "application/json" } else { "text/plain" };
    let stored = c.swift().put_object(&container, &name, content.into_bytes(), ct).await.act(cx.action())?;
    let mut out = cx.value(ObjectRec { container, name, site: c.site().to_string(), etag: stored.etag, bytes: stored.bytes as i64 })?;
    out.bytes_moved = stored.bytes;
    Ok(out)
}

/// The object is there with the same content: nothing to redo.
pub async fn put_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let container = cx.args.required_string("container")?;
    let name = cx.args.required_string("name")?;
    let content = cx.args.string("content")?;
    match c.swift().get_object(&container, &name).await {
        Ok(body) if body == content.as_bytes() => {
            let listed = c.swift().list(&container, &name).await.act(cx.action())?;
            let etag = listed.into_iter().find(|o| o.name == name).map(|o| o.hash).unwrap_or_default();
            Ok(Some(cx.value(ObjectRec { container, name, site: c.site().to_string(), etag, bytes: body.len() as i64 })?))
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(from_client(cx.action(), e)),
    }
}

pub async fn get_object(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let container = cx.args.required_string("container")?;
    let name = cx.args.required_string("name")?;
    let body = c.swift().get_object(&container, &name).await.act(cx.action())?;
    let text = String::from_utf8(body).map_err(|_| ActionError::permanent(format!("{}: object {container}/{name} at site {} is not UTF-8 text", cx.action(), c.site())))?;
    cx.value(Value::String(text))
}

pub async fn delete_object(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, o) = cx.record_on_site::<ObjectRec>("object")?;
    match c.swift().delete_object(&o.container, &o.name).await {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => return Err(from_client(cx.action(), e)),
    }
    cx.value(o)
}
