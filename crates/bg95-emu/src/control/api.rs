//! The control API's routes and handlers (docs/control-api.md, docs/control-api.yaml).
//! Every error is JSON `{"error": "...", "key": "..."?, "cme": N?}` with a 4xx/5xx status;
//! no request can stop the module.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bg95_core::{CmeError, Status};
use serde_json::{json, Map, Value};
use tokio::sync::{broadcast, oneshot};

use super::fault_json::{parse_fault, FaultError};
use super::{Control, ModuleRequest};
use crate::scenario::{FaultSpec, Times};

/// How long a handler waits for the module's loop before it answers 503.
const MODULE_WAIT: Duration = Duration::from_secs(10);
/// The largest request body (a UFS file).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The actions `POST /v1/actions/{kind}` takes: the scenario's module-level actions.
pub const ACTIONS: &[&str] = &[
    "pdp_lost",
    "registration_lost",
    "registration_regained",
    "sim_removed",
    "module_reset",
    "power_loss",
    "ufs_full",
    "at_answer",
];

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
        }
    }

    fn fault(e: FaultError) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": format!("{}: {}", e.key, e.message), "key": e.key }),
        }
    }

    fn cme(e: CmeError, name: &str) -> Self {
        let status = match e {
            CmeError::FileNotFound => StatusCode::NOT_FOUND,
            CmeError::InvalidFileName => StatusCode::BAD_REQUEST,
            CmeError::AlreadyOpen => StatusCode::CONFLICT,
            CmeError::NoSpace => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            body: json!({ "error": format!("UFS {name:?}: {}", e.text()), "cme": e.code() }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type Answer<T> = Result<T, ApiError>;

/// The API's routes over `control`.
pub fn router(control: Control) -> Router {
    let v1 = Router::new()
        .route("/v1/module", get(module))
        .route("/v1/ufs", get(ufs_list))
        .route(
            "/v1/ufs/{*name}",
            get(ufs_read).put(ufs_write).delete(ufs_delete),
        )
        .route("/v1/faults", get(faults).post(add_fault))
        .route("/v1/faults/fired", get(fired))
        .route("/v1/faults/{name}", axum::routing::delete(remove_fault))
        .route("/v1/actions/{kind}", post(action))
        .route("/v1/events", get(events))
        .route("/v1/transcript", get(transcript))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(MAX_BODY));
    v1.layer(axum::middleware::from_fn_with_state(control.clone(), auth))
        .with_state(control)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such path: {method} {}", uri.path()),
    )
}

async fn no_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// With a token, every request carries `Authorization: Bearer <token>`.
async fn auth(State(c): State<Control>, req: Request, next: Next) -> Response {
    if let Some(token) = &c.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes())) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong Authorization: Bearer token",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Compare without an early exit (the time taken does not say how much matched).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Ask the runtime's loop (it owns the module).
async fn ask<T>(c: &Control, make: impl FnOnce(oneshot::Sender<T>) -> ModuleRequest) -> Answer<T> {
    let (tx, rx) = oneshot::channel();
    let gone = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the emulator has stopped");
    match tokio::time::timeout(MODULE_WAIT, c.module.send(make(tx))).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the module's loop did not take the request in time",
            ))
        }
        Ok(Err(_)) => return Err(gone()),
        Ok(Ok(())) => {}
    }
    tokio::time::timeout(MODULE_WAIT, rx)
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the module did not answer"))?
        .map_err(|_| gone())
}

async fn module(State(c): State<Control>) -> Answer<Json<Value>> {
    Ok(Json(status_json(&ask(&c, ModuleRequest::Status).await?)))
}

/// `GET /v1/module`'s body. The QFTPCFG password is masked (one `*` per character).
pub fn status_json(s: &Status) -> Value {
    let cfg = &s.ftp.config;
    let ssl: Vec<Value> = s
        .ssl
        .iter()
        .enumerate()
        .map(|(i, x)| {
            json!({
                "ctx": i, "sslversion": x.sslversion, "ciphersuite": format!("0x{:04X}", x.ciphersuite),
                "cacert": x.cacert, "clientcert": x.clientcert, "clientkey": x.clientkey,
                "seclevel": x.seclevel, "ignorelocaltime": x.ignorelocaltime,
                "negotiatetime": x.negotiatetime, "sni": x.sni, "checkhost": x.checkhost,
            })
        })
        .collect();
    let pdp: Vec<Value> = s
        .pdp
        .iter()
        .map(|p| json!({ "cid": p.cid, "apn": p.apn, "up": p.up, "address": p.address }))
        .collect();
    json!({
        "powered": s.powered,
        "port": s.port,
        "data_mode": s.port.starts_with("data"),
        "baud": s.baud,
        "cfun": s.cfun,
        "sim": { "present": s.sim_present },
        "registration": { "stat": s.registration, "act": s.act },
        "pdp": pdp,
        "ftp": {
            "stat": s.ftp.stat,
            "state": s.ftp.state,
            "config": {
                "user": cfg.user, "password": "*".repeat(cfg.password.chars().count()),
                "filetype": cfg.filetype, "transmode": cfg.transmode,
                "contextid": cfg.contextid, "rsptimeout": cfg.rsptimeout,
                "ssltype": cfg.ssltype, "sslctxid": cfg.sslctxid,
                "data_sslctxid": cfg.data_sslctxid, "data_address": cfg.data_address,
            },
        },
        "ssl": ssl,
    })
}

async fn ufs_list(State(c): State<Control>) -> Answer<Json<Value>> {
    let files = ask(&c, ModuleRequest::UfsList)
        .await?
        .map_err(|e| ApiError::cme(e, "*"))?;
    let files: Vec<Value> = files
        .into_iter()
        .map(|(name, size)| json!({ "name": name, "size": size }))
        .collect();
    Ok(Json(json!({ "files": files })))
}

async fn ufs_read(State(c): State<Control>, Path(name): Path<String>) -> Answer<Response> {
    let data = ask(&c, |tx| ModuleRequest::UfsRead(name.clone(), tx))
        .await?
        .map_err(|e| ApiError::cme(e, &name))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], data).into_response())
}

async fn ufs_write(
    State(c): State<Control>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer<StatusCode> {
    ask(&c, |tx| {
        ModuleRequest::UfsWrite(name.clone(), body.to_vec(), tx)
    })
    .await?
    .map_err(|e| ApiError::cme(e, &name))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn ufs_delete(State(c): State<Control>, Path(name): Path<String>) -> Answer<StatusCode> {
    ask(&c, |tx| ModuleRequest::UfsDelete(name.clone(), tx))
        .await?
        .map_err(|e| ApiError::cme(e, &name))?;
    Ok(StatusCode::NO_CONTENT)
}

fn fault_json(spec: &FaultSpec, fired: u64, added: Option<&Value>) -> Value {
    json!({
        "name": spec.name,
        "trigger": spec.trigger.event.describe(spec.trigger.nth),
        "action": spec.action.describe(),
        "times": match spec.times { Times::Always => json!("always"), Times::Count(n) => json!(n) },
        "probability": spec.probability,
        "optional": spec.optional,
        "fired": fired,
        "source": if added.is_some() { "api" } else { "scenario" },
        "spec": added,
    })
}

async fn faults(State(c): State<Control>) -> Json<Value> {
    let added = c.added.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let list: Vec<Value> = c
        .engine
        .list()
        .iter()
        .map(|(spec, fired)| fault_json(spec, *fired, added.get(&spec.name)))
        .collect();
    Json(json!({ "faults": list }))
}

/// A JSON object from a request body (an empty body is `{}` when `empty_ok`).
fn json_object(body: &[u8], empty_ok: bool) -> Answer<Map<String, Value>> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("bad JSON: {e}"),
        )),
    }
}

/// Check and add a fault (with the faults it implies); its name.
fn add(c: &Control, mut fault: Map<String, Value>, unnamed: &str) -> Answer<String> {
    let mut added = c.added.lock().unwrap_or_else(|p| p.into_inner());
    if !fault.contains_key("name") {
        let n = c.counter.fetch_add(1, Ordering::Relaxed) + 1;
        fault.insert("name".into(), json!(format!("{unnamed}-{n}")));
    }
    let existing: Vec<String> = c.engine.list().into_iter().map(|(s, _)| s.name).collect();
    let value = Value::Object(fault);
    let specs = parse_fault(&value, &existing).map_err(ApiError::fault)?;
    let name = specs.first().map(|s| s.name.clone()).unwrap_or_default();
    for spec in specs {
        tracing::info!(target: "bg95::control", "fault {:?} added", spec.name);
        c.engine.add_fault(spec);
    }
    added.insert(name.clone(), value);
    Ok(name)
}

async fn add_fault(State(c): State<Control>, body: Bytes) -> Answer<(StatusCode, Json<Value>)> {
    let fault = json_object(&body, false)?;
    let name = add(&c, fault, "api")?;
    Ok((StatusCode::CREATED, Json(json!({ "name": name }))))
}

async fn remove_fault(State(c): State<Control>, Path(name): Path<String>) -> Answer<StatusCode> {
    if !c.engine.remove_fault(&name) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no fault is named {name:?}"),
        ));
    }
    c.added
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&name);
    Ok(StatusCode::NO_CONTENT)
}

async fn fired(State(c): State<Control>) -> Json<Value> {
    let fired: Vec<Value> = c
        .engine
        .fired()
        .iter()
        .map(|f| {
            json!({
                "name": f.name, "at_ms": f.at.as_millis() as u64,
                "trigger": f.trigger, "action": f.action, "line": f.transcript_line(),
            })
        })
        .collect();
    Json(json!({ "fired": fired }))
}

/// A module action now: the scenario's action as a fault that fires at once
/// (`on = "time"`, `after = "0s"`), so it is checked, applied and recorded exactly as one.
async fn action(
    State(c): State<Control>,
    Path(kind): Path<String>,
    body: Bytes,
) -> Answer<(StatusCode, Json<Value>)> {
    if !ACTIONS.contains(&kind.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown action {kind:?} ({})", ACTIONS.join(", ")),
        ));
    }
    let mut fault = json_object(&body, true)?;
    for key in ["name", "on", "after", "action", "nth", "times"] {
        if fault.contains_key(key) {
            return Err(ApiError::fault(FaultError {
                key: format!("fault.{key}"),
                message: format!("an action happens now; `{key}` belongs to POST /v1/faults"),
            }));
        }
    }
    fault.insert("on".into(), json!("time"));
    fault.insert("after".into(), json!("0s"));
    fault.insert("action".into(), json!(kind));
    let name = add(&c, fault, "action")?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "name": name }))))
}

async fn transcript(State(c): State<Control>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        c.tap.text(),
    )
        .into_response()
}

/// Server-Sent Events: one per transcript line from now on (`event:` its kind, `data:`
/// `{"at_ms", "line"}`); `lagged` with `{"skipped"}` when this client fell behind.
async fn events(
    State(c): State<Control>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let state = (c.tap.subscribe(), c.shutdown.clone());
    let stream = futures_util::stream::unfold(state, |(mut rx, mut stop)| async move {
        let event = tokio::select! {
            r = rx.recv() => match r {
                Ok(l) => Event::default()
                    .event(l.kind())
                    .json_data(json!({ "at_ms": l.at_ms, "line": &*l.line })),
                Err(broadcast::error::RecvError::Lagged(n)) => Event::default()
                    .event("lagged")
                    .json_data(json!({ "skipped": n })),
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            _ = stop.wait_for(|s| *s) => return None,
        };
        let event = event.unwrap_or_else(|_| Event::default().event("error"));
        Some((Ok(event), (rx, stop)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
