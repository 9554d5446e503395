//! The pure core of the feature store: everything but the I/O.
//!
//! The online store consumes listening events, keeps event-time tiles per entity in Redis and
//! merges them at read time; the backfill replays the offline log through [`InMemoryStore`] to
//! build point-in-time training sets. Both run this code, so what was served online is what the
//! backfill computes.
//!
//! - [`spec`] and `parse`: feature definitions ([`Registry`]) from TOML.
//! - [`observation`]: an event joined with its track's attributes, and the fields read from it.
//! - [`window`] and [`tile`]: tile sizes, which tiles a read merges, partial aggregates.
//! - [`lateness`]: the per-partition watermark that drops events too late to apply.
//! - [`layout`]: the Redis keys and hash fields.
//! - [`update`]: a batch of observations as pre-combined [`TileUpdate`]s.
//! - [`read`]: the keys and fields a read needs ([`read_plan`]).
//! - [`value`]: the values computed from them ([`evaluate`]) and their read semantics.
//! - [`memory`]: [`InMemoryStore`], which applies updates as the Redis layer does.

pub mod error;
pub mod lateness;
pub mod layout;
pub mod memory;
pub mod observation;
pub mod read;
pub mod spec;
pub mod tile;
pub mod update;
pub mod value;
pub mod window;

mod kinds;
mod parse;
#[cfg(test)]
mod testing;

/// The starter feature definitions shipped with the platform (`features.toml` in this crate),
/// used when a deployment names no file of its own.
pub const STARTER_DEFINITIONS: &str = include_str!("../features.toml");

pub use error::{ReadError, SpecError};
pub use lateness::{Admission, Watermark};
pub use memory::InMemoryStore;
pub use observation::{Observation, TrackAttrs};
pub use read::{KeyFetch, ReadPlan, read_plan};
pub use spec::{
    Actions, Aggregation, EntityType, FeatureDef, Field, Registry, ServiceDef, ViewDef,
};
pub use tile::{LastValue, Partial};
pub use update::{FieldOp, Op, TileUpdate, updates};
pub use value::{FeatureValue, Status, evaluate};
pub use window::Window;
