//! Encoding and decoding one listening event: the per-event cost on ingestion's and every
//! consumer's hot path. `cargo bench -p lucid-avro`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lucid_avro::{Codec, LISTENING_EVENT, SchemaSet};
use lucid_events::{Action, Context, EventInput, ListeningEvent, Platform};

fn event() -> ListeningEvent {
    let time = chrono::DateTime::from_timestamp_millis(1_796_317_200_250).expect("valid time");
    let input = EventInput {
        event_id: "0b9c5a52-7c1e-4d5e-9f1a-1c2d3e4f5a6b".into(),
        user_id: "u".into(),
        session_id: "7d0c8e4a-1f2b-4c3d-8e9f-a0b1c2d3e4f5".into(),
        event_time: time,
        action: Action::Skip,
        track_id: Some(153),
        position: Some(3),
        listened_ms: Some(12_345),
        track_duration_ms: Some(200_000),
        context: Context::TherapyProgram,
        platform: Platform::Android,
        app_version: "4.12.0".into(),
        mood_valence: None,
        mood_arousal: None,
    };
    ListeningEvent::from_input(&input, "ab".repeat(32), time)
}

fn codec(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let codec = Codec::single_object(SchemaSet::shipped());
    let encoder = rt
        .block_on(codec.encoder(LISTENING_EVENT, "bench"))
        .expect("encoder");
    let event = event();
    let bytes = encoder.encode(event.to_avro()).expect("encodes");

    c.bench_function("encode listening event", |b| {
        b.iter(|| {
            encoder
                .encode(black_box(&event).to_avro())
                .expect("encodes")
        })
    });
    c.bench_function("decode listening event", |b| {
        b.iter(|| {
            rt.block_on(codec.decode(black_box(&bytes), LISTENING_EVENT))
                .expect("decodes")
        })
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
