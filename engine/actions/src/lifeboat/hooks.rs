//! Operator hooks: HTTP POST or a command with the JSON payload on stdin.

use crate::prerun::{Finding, Found, Seen, Severity};
use crate::records::*;
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use serde_json::{json, Value};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// Run a hook: POST the payload to `url`, or run `command` (sh -c) with the
/// payload on stdin. Non-2xx or non-zero exit fails.
async fn run_hook(
    cx: &Ctx<'_>,
    url: &str,
    command: &str,
    payload: Value,
) -> Result<ActionOutput, ActionError> {
    let what = payload
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("hook")
        .to_string();
    if !url.is_empty() {
        let remaining = cx
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        let resp = cx
            .acts
            .http
            .post(url)
            .timeout(remaining)
            .json(&payload)
            .send()
            .await
            .map_err(|e| {
                ActionError::transient(
                    format!("{}: hook {what} POST {url}: {e}", cx.action()),
                    None,
                )
            })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        let output: String = body.chars().take(4000).collect();
        return if (200..300).contains(&status) {
            cx.value(HookResultRec { ok: true, output })
        } else if status >= 500 || status == 429 {
            Err(ActionError::transient(
                format!(
                    "{}: hook {what} POST {url} answered {status}: {output}",
                    cx.action()
                ),
                None,
            ))
        } else {
            Err(ActionError::permanent(format!(
                "{}: hook {what} POST {url} answered {status}: {output}",
                cx.action()
            ))
            .with_hint("the hook receiver rejected the call; check its URL and payload"))
        };
    }
    if !command.is_empty() {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("LIFEBOAT_EVENT", &what)
            .env("LIFEBOAT_RUN", &cx.call.run_id)
            .env("LIFEBOAT_STEP", &cx.call.step)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ActionError::permanent(format!(
                    "{}: hook {what}: cannot run {command:?}: {e}",
                    cx.action()
                ))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(payload.to_string().as_bytes()).await;
        }
        let remaining = cx
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        let out = match tokio::time::timeout(remaining, child.wait_with_output()).await {
            Ok(r) => r.map_err(|e| {
                ActionError::permanent(format!(
                    "{}: hook {what}: {command:?} failed: {e}",
                    cx.action()
                ))
            })?,
            Err(_) => {
                return Err(ActionError::timeout(format!(
                    "{}: hook {what}: {command:?} did not finish before the call's timeout",
                    cx.action()
                )))
            }
        };
        let mut output = String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(4000)
            .collect::<String>();
        if out.status.success() {
            return cx.value(HookResultRec { ok: true, output });
        }
        output.push_str(
            &String::from_utf8_lossy(&out.stderr)
                .chars()
                .take(2000)
                .collect::<String>(),
        );
        return Err(ActionError::permanent(format!(
            "{}: hook {what}: {command:?} exited with {}: {}",
            cx.action(),
            out.status,
            output.trim()
        )));
    }
    Err(ActionError::permanent(format!(
        "{}: hook {what} has neither url nor command",
        cx.action()
    ))
    .with_hint("give the hook a url or a command"))
}

fn payload(cx: &Ctx<'_>, event: &str, subject: Value) -> Value {
    json!({
        "event": event,
        "subject": subject,
        "run_id": cx.call.run_id,
        "step": cx.call.step,
        "tag": cx.call.tag,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

pub async fn hook(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let event = cx.args.required_string("event")?;
    let url = cx.args.string("url")?;
    let command = cx.args.string("command")?;
    let subject = cx.args.string("subject")?;
    run_hook(
        cx,
        &url,
        &command,
        payload(cx, &event, Value::String(subject)),
    )
    .await
}

pub async fn hook_server(cx: &Ctx<'_>, kind: &str) -> Result<ActionOutput, ActionError> {
    let server: ServerRec = cx.args.record("server")?;
    let url = cx.args.string("url")?;
    let command = cx.args.string("command")?;
    let subject = serde_json::to_value(&server).unwrap_or(Value::Null);
    run_hook(cx, &url, &command, payload(cx, kind, subject)).await
}

/// Pre-run check of `lifeboat.hook_freeze` as a quiesce method's freeze
/// (`quiesce-method`): the method's arguments name a hook.
pub(crate) async fn check_hook_freeze(seen: &Seen<'_>) -> Vec<Finding> {
    let Found::Freeze { method } = seen.found else {
        return Vec::new();
    };
    if !seen.arg("url").is_empty() || !seen.arg("command").is_empty() {
        return Vec::new();
    }
    vec![Finding::new(Severity::Error, "quiesce-method", seen.step(), seen.site, format!("quiesce method `{method}` has no hook: neither a url nor a command is given, so every freeze would fail"), "write `via hook(url: \"https://vnfm/…\")` (or command: …) in the runbook, or choose method \"pause\"")]
}
