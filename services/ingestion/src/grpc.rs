//! The gRPC front end: `lucid.ingest.v1.IngestService`.

use std::{sync::Arc, time::Instant};

use chrono::DateTime;
use lucid_events::{
    Action, Context, EventInput, EventOutcome, Platform, PublishResponse, Reason, Rejection,
    RejectionSource, Status,
};
use lucid_proto::ingest::v1::{self as pb, ingest_service_server::IngestService};
use prost::Message;

use crate::{App, error::ApiError, metrics as m, pipeline::Item};

/// The gRPC service over the shared [`App`].
pub struct Ingest {
    pub(crate) app: Arc<App>,
}

#[tonic::async_trait]
impl IngestService for Ingest {
    async fn publish(
        &self,
        request: tonic::Request<pb::PublishRequest>,
    ) -> Result<tonic::Response<pb::PublishResponse>, tonic::Status> {
        let started = Instant::now();
        let result = self.handle(request).await;

        let code = match &result {
            Ok(_) => "ok".to_owned(),
            Err(status) => format!("{:?}", status.code()).to_lowercase(),
        };
        metrics::counter!(m::REQUESTS, "transport" => "grpc", "status" => code).increment(1);
        metrics::histogram!(m::REQUEST_DURATION, "transport" => "grpc")
            .record(started.elapsed().as_secs_f64());
        result
    }
}

impl Ingest {
    async fn handle(
        &self,
        request: tonic::Request<pb::PublishRequest>,
    ) -> Result<tonic::Response<pb::PublishResponse>, tonic::Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.app
            .keys
            .check(authorization)
            .ok_or(ApiError::Unauthenticated)?;

        let events = request.into_inner().events;
        let limit = self.app.limits.max_events;
        if events.len() > limit {
            return Err(ApiError::TooManyEvents {
                count: events.len(),
                limit,
            }
            .into());
        }

        let items = events.into_iter().map(item).collect();
        let outcomes = self
            .app
            .ingestor
            .publish(items, RejectionSource::Grpc)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;

        let answer = to_proto(PublishResponse::from_results(outcomes));
        if answer.results.iter().any(|r| r.retryable) {
            // The outcomes travel in the status details so the caller knows what to resend.
            let details = answer.encode_to_vec().into();
            let mut status = tonic::Status::with_details(
                tonic::Code::Unavailable,
                "the broker did not confirm some events; resend those marked retryable",
                details,
            );
            status
                .metadata_mut()
                .insert("retry-after", crate::error::RETRY_AFTER_SECONDS.into());
            return Err(status);
        }
        Ok(tonic::Response::new(answer))
    }
}

fn item(event: pb::Event) -> Item {
    let raw = raw_json(&event);
    Item {
        parsed: to_input(event),
        raw,
    }
}

fn to_input(event: pb::Event) -> Result<EventInput, Rejection> {
    let event_time =
        DateTime::from_timestamp_millis(event.event_time_unix_ms).ok_or_else(|| {
            Rejection::field(
                Reason::InvalidValue,
                "event_time_unix_ms",
                "event_time_unix_ms is not a valid time",
            )
        })?;
    Ok(EventInput {
        action: action(event.action())?,
        context: context(event.context())?,
        platform: platform(event.platform())?,
        event_id: event.event_id,
        user_id: event.user_id,
        session_id: event.session_id,
        event_time,
        track_id: event.track_id,
        position: event.position,
        listened_ms: event.listened_ms,
        track_duration_ms: event.track_duration_ms,
        app_version: event.app_version,
        mood_valence: event.mood_valence,
        mood_arousal: event.mood_arousal,
    })
}

fn unspecified(field: &str) -> Rejection {
    Rejection::field(
        Reason::MissingField,
        field,
        format!("{field} is required (it is unspecified)"),
    )
}

fn action(action: pb::Action) -> Result<Action, Rejection> {
    use pb::Action as P;
    Ok(match action {
        P::Unspecified => return Err(unspecified("action")),
        P::SessionStart => Action::SessionStart,
        P::Play => Action::Play,
        P::Skip => Action::Skip,
        P::Pause => Action::Pause,
        P::Resume => Action::Resume,
        P::Complete => Action::Complete,
        P::SessionEnd => Action::SessionEnd,
        P::MoodCheckin => Action::MoodCheckin,
    })
}

fn context(context: pb::Context) -> Result<Context, Rejection> {
    use pb::Context as P;
    Ok(match context {
        P::Unspecified => return Err(unspecified("context")),
        P::Playlist => Context::Playlist,
        P::Radio => Context::Radio,
        P::Search => Context::Search,
        P::TherapyProgram => Context::TherapyProgram,
        P::Album => Context::Album,
        P::Artist => Context::Artist,
        P::Recommendation => Context::Recommendation,
        P::Other => Context::Other,
    })
}

fn platform(platform: pb::Platform) -> Result<Platform, Rejection> {
    use pb::Platform as P;
    Ok(match platform {
        P::Unspecified => return Err(unspecified("platform")),
        P::Ios => Platform::Ios,
        P::Android => Platform::Android,
        P::Web => Platform::Web,
        P::Other => Platform::Other,
    })
}

/// The event in the HTTP API's JSON shape, for the dead-letter record (pseudonymised there).
fn raw_json(event: &pb::Event) -> serde_json::Value {
    serde_json::json!({
        "event_id": event.event_id,
        "user_id": event.user_id,
        "session_id": event.session_id,
        "event_time_unix_ms": event.event_time_unix_ms,
        "action": event.action().as_str_name(),
        "track_id": event.track_id,
        "position": event.position,
        "listened_ms": event.listened_ms,
        "track_duration_ms": event.track_duration_ms,
        "context": event.context().as_str_name(),
        "platform": event.platform().as_str_name(),
        "app_version": event.app_version,
        "mood_valence": event.mood_valence,
        "mood_arousal": event.mood_arousal,
    })
}

fn to_proto(response: PublishResponse) -> pb::PublishResponse {
    pb::PublishResponse {
        accepted: response.accepted,
        duplicates: response.duplicates,
        rejected: response.rejected,
        results: response.results.into_iter().map(outcome).collect(),
    }
}

fn outcome(outcome: EventOutcome) -> pb::EventOutcome {
    use pb::event_outcome::Status as P;
    let status = match outcome.status {
        Status::Accepted => P::Accepted,
        Status::Duplicate => P::Duplicate,
        Status::Rejected => P::Rejected,
    };
    pb::EventOutcome {
        index: outcome.index,
        event_id: outcome.event_id.unwrap_or_default(),
        status: status as i32,
        reason: outcome.reason.unwrap_or_default(),
        field: outcome.field.unwrap_or_default(),
        message: outcome.message.unwrap_or_default(),
        retryable: outcome.retryable,
    }
}
