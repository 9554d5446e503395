//! One listening session, from `session_start` to `session_end`.
//!
//! Order of events: session_start, a mood check-in, then for each track play, an optional
//! pause and resume, skip or complete; then a second mood check-in and session_end. The track
//! loop stops when the listener stops (see [`CONTINUE_PROBABILITY`]) or when the next track
//! would not end before the session's deadline, which keeps every event inside the span.

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use lucid_events::{Action, Context, EventInput};
use rand::Rng;
use rand_distr::{Beta, Distribution};

use crate::draw;
use crate::mood::{Heard, Mood};
use crate::picker::{Picker, fit};
use crate::profile::{is_commute_hour, is_night_hour};
use crate::{Listener, draw::millis};

/// Chance the listener goes on to another track after each one.
pub const CONTINUE_PROBABILITY: f64 = 0.88;
/// Most tracks in one session.
pub const MAX_TRACKS: usize = 40;
/// Skip probability of a perfectly fitting track at the start of a session, midday.
pub const BASE_SKIP: f64 = 0.08;
/// Added skip probability for a track that does not fit the mood target at all.
pub const MISFIT_SKIP: f64 = 0.45;
/// Added skip probability per position in the session, counted up to ten positions.
pub const SKIP_PER_POSITION: f64 = 0.015;
/// Added skip probability during the commute hours (restless listening).
pub const COMMUTE_SKIP: f64 = 0.06;
/// Added skip probability during night hours (negative: listeners let music run).
pub const NIGHT_SKIP: f64 = -0.05;
/// Added skip probability for a track of the known genre the listener does not prefer.
pub const OFF_GENRE_SKIP: f64 = 0.12;
/// Chance a track is paused once and resumed.
pub const PAUSE_PROBABILITY: f64 = 0.07;
/// Most milliseconds a completed track is reported past its end.
pub const OVERSHOOT_MS: i64 = 1_500;
/// Where playback is started from, and how often.
pub const CONTEXTS: [(Context, f64); 8] = [
    (Context::Playlist, 0.30),
    (Context::TherapyProgram, 0.20),
    (Context::Recommendation, 0.15),
    (Context::Radio, 0.10),
    (Context::Search, 0.08),
    (Context::Album, 0.07),
    (Context::Artist, 0.05),
    (Context::Other, 0.05),
];

/// Room kept after the last track for the mood check-in (5-30 s) and session_end (1-10 s).
const TAIL: TimeDelta = TimeDelta::seconds(40);

/// The skip probability of a track:
/// `BASE + MISFIT × (1 - fit) + PER_POSITION × min(position, 10) + hour term + genre term`,
/// which lies in 0.03-0.86; the clamp to 0.02-0.95 only guards later changes of the constants.
pub fn skip_probability(fit: f64, position: usize, hour: u32, off_genre: bool) -> f64 {
    let hour_term = if is_commute_hour(hour) {
        COMMUTE_SKIP
    } else if is_night_hour(hour) {
        NIGHT_SKIP
    } else {
        0.0
    };
    let genre_term = if off_genre { OFF_GENRE_SKIP } else { 0.0 };
    let position_term = SKIP_PER_POSITION * position.min(10) as f64;
    (BASE_SKIP + MISFIT_SKIP * (1.0 - fit) + position_term + hour_term + genre_term)
        .clamp(0.02, 0.95)
}

/// What the simulator decided about a session before it is played.
pub(crate) struct Plan<'a> {
    pub(crate) listener: &'a Listener,
    pub(crate) start: DateTime<Utc>,
    pub(crate) deadline: DateTime<Utc>,
    pub(crate) target: Mood,
    pub(crate) buggy_release_out: bool,
}

/// Plays a session and returns its events in time order.
pub(crate) fn play(plan: &Plan<'_>, picker: &Picker<'_>, rng: &mut impl Rng) -> Vec<EventInput> {
    let (app_version, seconds) = plan.listener.app(plan.buggy_release_out);
    let mut out = Emitter {
        template: template(
            plan,
            app_version,
            draw::uuid(rng),
            draw::pick(&CONTEXTS, rng),
        ),
        seconds,
        events: Vec::new(),
    };

    out.push(rng, plan.start, Action::SessionStart);
    let before = Mood::before(rng);
    let checked_in = plan.start + millis(5_000, 40_000, rng);
    out.mood(rng, checked_in, before);

    let mut time = checked_in + millis(2_000, 15_000, rng);
    let mut last_end = checked_in;
    let mut played = Vec::new();
    let mut heard = Heard::default();
    for position in 0..MAX_TRACKS {
        if position > 0 && !rng.random_bool(CONTINUE_PROBABILITY) {
            break;
        }
        let Some(end) = play_track(plan, picker, &mut out, &mut heard, &mut played, time, rng)
        else {
            break;
        };
        last_end = end;
        time = end + millis(300, 2_500, rng);
    }

    let checked_out = last_end + millis(5_000, 30_000, rng);
    let after = before.after(heard, rng);
    out.mood(rng, checked_out, after);
    let ended = checked_out + millis(1_000, 10_000, rng);
    out.push(rng, ended, Action::SessionEnd);
    out.events
}

/// Plays the next track from `time`; returns when it ended, or None when it would end too late.
fn play_track(
    plan: &Plan<'_>,
    picker: &Picker<'_>,
    out: &mut Emitter,
    heard: &mut Heard,
    played: &mut Vec<usize>,
    time: DateTime<Utc>,
    rng: &mut impl Rng,
) -> Option<DateTime<Utc>> {
    let position = played.len();
    let index = picker.choose(plan.listener, plan.target, played, rng);
    let track = picker.track(index);
    let duration = picker.duration_ms(index);

    let off_genre = track
        .genre
        .is_some_and(|genre| genre != plan.listener.prefers);
    let p_skip = skip_probability(fit(track, plan.target), position, time.hour(), off_genre);
    let skipped = rng.random_bool(p_skip);
    let listened = if skipped {
        let fraction = Beta::new(1.3, 4.0).expect("constant beta parameters are valid");
        (duration as f64 * fraction.sample(rng)).round() as i64
    } else {
        duration + rng.random_range(0..=OVERSHOOT_MS)
    };
    let pause = rng.random_bool(PAUSE_PROBABILITY).then(|| {
        let at = (listened as f64 * rng.random_range(0.1..0.9)).round() as i64;
        (at, millis(5_000, 180_000, rng))
    });

    let paused_for = pause.map_or(TimeDelta::zero(), |(_, length)| length);
    let end = time + TimeDelta::milliseconds(listened) + paused_for;
    if end + TAIL > plan.deadline {
        return None;
    }

    let at = TrackAt {
        id: track.id,
        position: position as i32,
        duration,
    };
    out.track(rng, time, Action::Play, at, 0);
    if let Some((paused_at, length)) = pause {
        let pause_time = time + TimeDelta::milliseconds(paused_at);
        out.track(rng, pause_time, Action::Pause, at, paused_at);
        out.track(rng, pause_time + length, Action::Resume, at, paused_at);
    }
    let action = if skipped {
        Action::Skip
    } else {
        Action::Complete
    };
    out.track(rng, end, action, at, listened);

    heard.add(listened, track.valence, track.energy);
    played.push(index);
    Some(end)
}

/// The session's fields shared by all its events; a session_start at the plan's start.
fn template(
    plan: &Plan<'_>,
    app_version: &str,
    session_id: String,
    context: Context,
) -> EventInput {
    EventInput {
        event_id: String::new(),
        user_id: plan.listener.user_id.clone(),
        session_id,
        event_time: plan.start,
        action: Action::SessionStart,
        track_id: None,
        position: None,
        listened_ms: None,
        track_duration_ms: None,
        context,
        platform: plan.listener.platform,
        app_version: app_version.to_owned(),
        mood_valence: None,
        mood_arousal: None,
    }
}

/// The track fields of a track event.
#[derive(Clone, Copy)]
struct TrackAt {
    id: i64,
    position: i32,
    duration: i64,
}

/// Collects a session's events, filling the shared fields and a fresh event id into each.
struct Emitter {
    template: EventInput,
    /// The buggy release reports listened time in whole seconds.
    seconds: bool,
    events: Vec<EventInput>,
}

impl Emitter {
    fn push(&mut self, rng: &mut impl Rng, time: DateTime<Utc>, action: Action) -> &mut EventInput {
        let mut event = self.template.clone();
        event.event_id = draw::uuid(rng);
        event.event_time = time;
        event.action = action;
        self.events.push(event);
        let last = self.events.len() - 1;
        &mut self.events[last]
    }

    fn mood(&mut self, rng: &mut impl Rng, time: DateTime<Utc>, mood: Mood) {
        let event = self.push(rng, time, Action::MoodCheckin);
        event.mood_valence = Some(draw::nine_point(mood.valence));
        event.mood_arousal = Some(draw::nine_point(mood.arousal));
    }

    fn track(
        &mut self,
        rng: &mut impl Rng,
        time: DateTime<Utc>,
        action: Action,
        at: TrackAt,
        listened_ms: i64,
    ) {
        let reported = if self.seconds {
            listened_ms / 1_000
        } else {
            listened_ms
        };
        let event = self.push(rng, time, action);
        event.track_id = Some(at.id);
        event.position = Some(at.position);
        event.listened_ms = Some(reported);
        event.track_duration_ms = Some(at.duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_probability_follows_the_formula() {
        // 0.08 + 0.45 × 0.5 = 0.305 at position 0, 12:00, preferred genre.
        assert!((skip_probability(0.5, 0, 12, false) - 0.305).abs() < 1e-12);
        // + 0.015 × 10 (position capped at 10) + 0.06 commute + 0.12 off genre = 0.635.
        assert!((skip_probability(0.5, 25, 8, true) - 0.635).abs() < 1e-12);
        // Night: 0.08 + 0 - 0.05 = 0.03 for a perfect fit.
        assert!((skip_probability(1.0, 0, 23, false) - 0.03).abs() < 1e-12);
        // The worst case: 0.08 + 0.45 + 0.15 + 0.06 + 0.12 = 0.86.
        assert!((skip_probability(0.0, 10, 8, true) - 0.86).abs() < 1e-12);
    }
}
