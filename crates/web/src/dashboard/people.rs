//! Cán bộ: who in the viewer's scope is registered (and where registration lags), a search
//! without diacritics, the registration requests waiting for a head, and for the Văn phòng
//! removing a person's chat accounts.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Me, SignedIn, WebError, cache, current_week, render};
use crate::AppState;
use lantoa_domain::Person;
use lantoa_services::inbox::apply::{Applier, ApplyError, Decided};
use lantoa_domain::text::fold;
use lantoa_services::identity::{Actor, UnlinkError, unlink_by};
use lantoa_domain::Role;
use lantoa_store::identity as trust;
use lantoa_store::web as store;
use lantoa_domain::Units;
use lantoa_store::weekly::resolve;

/// At most this many people are listed for a search.
const FOUND: usize = 100;
/// Units listed by lowest registration.
const LAGGING: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

/// `GET /web/people`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<PeopleQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(query) = query.unwrap_or_default();
    let units = resolve(&state.db, signed_in.scope).await?;
    let standings = cache::standings(&state, current_week(&state), signed_in.scope).await?;
    let mut lagging: Vec<_> = standings
        .units
        .iter()
        .filter(|u| u.staff_total > 0)
        .collect();
    lagging.sort_by(|a, b| {
        let share = |u: &&lantoa_core::weekly::standings::UnitStanding| {
            f64::from(u.staff_registered) / f64::from(u.staff_total)
        };
        share(a)
            .total_cmp(&share(b))
            .then_with(|| a.code.cmp(&b.code))
    });
    lagging.truncate(LAGGING);
    let search = fold(query.q.trim());
    let found: Vec<store::Person> = if search.chars().count() >= 2 {
        let names = cache::folded_names(&state).await?;
        let ids: Vec<i64> = names
            .iter()
            .filter(|name| match &units {
                Units::All => true,
                Units::Only(ids) => ids.contains(&name.unit_id),
            })
            .filter(|name| name.folded.contains(&search))
            .take(FOUND)
            .map(|name| name.id)
            .collect();
        store::people_by_id(&state.db, &ids).await?
    } else {
        Vec::new()
    };
    let time_zone = &state.config.settings.time_zone;
    let requests: Vec<_> = store::pending_requests(&state.db, &units, 50)
        .await?
        .into_iter()
        .map(|request| {
            let at = super::local_time(request.created_at, time_zone);
            minijinja::context! { at, request }
        })
        .collect();
    // Accounts refused for guessing codes in the last hour (the Văn phòng's to watch).
    let throttled: Vec<_> = if signed_in.is_admin() {
        let limits = state.config.settings.registration.limits;
        store::throttled_accounts(
            &state.db,
            state.clock.now_ms() - lantoa_core::identity::throttle::HOUR_MS,
            i64::from(limits.per_account),
            50,
        )
        .await?
        .into_iter()
        .map(|account| minijinja::context! { at => super::local_time(account.last_at, time_zone), account })
        .collect()
    } else {
        Vec::new()
    };
    render(
        "people.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            throttled,
            lagging,
            q => query.q,
            searched => search.chars().count() >= 2,
            found,
            requests,
            done => query.done,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct UnlinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /web/people/unlink` (the Văn phòng): removes the person's chat accounts; each one
/// is told, as with `lantoa unlink`.
pub async fn unlink(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<UnlinkForm>, FormRejection>,
) -> Result<Response, WebError> {
    signed_in.require_admin()?;
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    let viewer = &signed_in.session.viewer;
    let actor = Actor {
        code: &viewer.code,
        staff_id: Some(viewer.staff_id),
        how: "web: by the Văn phòng in the dashboard",
    };
    let now = state.clock.now_ms();
    match unlink_by(&state.db, &state.templates, &form.code, None, actor, now).await {
        Ok(accounts) => {
            state.outbox_queued.notify_one();
            let code = form.code.trim().to_ascii_uppercase();
            let done = if accounts.is_empty() {
                "none"
            } else {
                "unlinked"
            };
            Ok(Redirect::to(&format!("/web/people?q={code}&done={done}")).into_response())
        }
        Err(UnlinkError::UnknownStaff(_)) => Err(WebError::NotFound),
        Err(UnlinkError::Store(err)) => Err(err.into()),
        Err(UnlinkError::Template(err)) => {
            Err(WebError::Job(lantoa_services::weekly::jobs::JobError::Template(err)))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: i64,
    /// `approve` or `refuse`.
    #[serde(default)]
    decision: String,
}

/// `POST /web/people/decide`: a head (or, for a unit without one, the Văn phòng) approves or
/// refuses a registration request, exactly as `DONGY`/`TUCHOI` in chat would.
pub async fn decide(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => return Err(WebError::BadRequest("Quyết định không hợp lệ.".into())),
    };
    let viewer = &signed_in.session.viewer;
    let decider = Person {
        staff_id: viewer.staff_id,
        code: viewer.code.clone(),
        full_name: viewer.full_name.clone(),
        unit_name: viewer.unit_name.clone(),
        role: viewer.role,
    };
    let now = state.clock.now_ms();
    let applier = Applier {
        db: &state.db,
        templates: &state.templates,
        settings: &state.config.settings,
        public_url: &state.config.public_url,
    };
    let _writing = state.db.write_lock().await;
    let mut tx = state.db.begin_write().await?;
    let request = trust::pending_request_by_id(&mut tx, form.request)
        .await?
        .filter(|request| trust::may_decide(&decider, viewer.unit_id, request.unit_id))
        .ok_or(WebError::NotFound)?;
    // An approval proves a member; anyone else registers with an invite.
    let person = trust::active_person(&mut tx, request.staff_id)
        .await?
        .filter(|person| person.role == Role::Member)
        .ok_or(WebError::NotFound)?;
    let decided = Decided {
        request_id: request.id,
        approve,
        staff_id: request.staff_id,
        requester: &request.requester,
    };
    let outcome = applier
        .decide_in_dashboard(&mut tx, &decider, &decided, now)
        .await
        .map_err(|err| match err {
            ApplyError::Store(err) => WebError::Store(err),
            other => {
                tracing::warn!(error = %other, "a dashboard decision failed");
                WebError::BadRequest("Không xử lý được yêu cầu này; thầy/cô tải lại trang.".into())
            }
        })?;
    let action = if approve { "dong_y" } else { "tu_choi" };
    let detail = format!("request {} of {}", request.id, person.code);
    trust::audit(&mut tx, &signed_in.audit(action, detail), now).await?;
    lantoa_store::commit(tx).await?;
    state.outbox_queued.notify_one();
    let done = match (approve, outcome.get("linked").and_then(|v| v.as_bool())) {
        (true, Some(true)) => "approved",
        (true, _) => "not-linked",
        (false, _) => "refused",
    };
    Ok(Redirect::to(&format!("/web/people?q={}&done={done}", person.code)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct InvitesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    unit: String,
}

/// `POST /web/people/invites`: the printable invite sheet of a unit in scope, issuing a code
/// to everyone there without a live one (as `lantoa invites --unit CODE --format xlsx`). A
/// POST, because issuing changes what is stored and the codes are shown only this once.
pub async fn invites(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<InvitesForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    let unit = super::pages::unit_in_scope(&state, signed_in.scope, &form.unit).await?;
    let settings = &state.config.settings;
    let actor = format!("{} (web)", signed_in.session.viewer.code);
    let issued = lantoa_services::identity::invites::issue(
        &state.db,
        &lantoa_store::identity::InviteScope::Unit(unit.code.clone()),
        false,
        settings.registration.invite_days,
        &actor,
        state.clock.now_ms(),
    )
    .await
    .map_err(|err| WebError::BadRequest(format!("Không phát được mã mời: {err}")))?;
    let bytes =
        lantoa_services::identity::invites::xlsx(&issued, &settings.time_zone, &settings.registration.links)
            .map_err(|err| WebError::Job(lantoa_services::weekly::jobs::JobError::Write(err.to_string())))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ma-moi-{}.xlsx\"", unit.code),
            ),
        ],
        bytes,
    )
        .into_response())
}
