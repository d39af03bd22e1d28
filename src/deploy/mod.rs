//! What a deploy does with an opened file: typed values turned into environment
//! variables ([`variables`]) for a program ([`exec`]) or converted to another
//! format ([`export`]), and the access log ([`access_log`]).
//!
//! Normative text: `spec/deploy.md` (typed values, section 1; variable names and
//! refused names, sections 2 and 3; `exec`, section 4; conversions, section 5; the
//! access log, section 7).

pub mod access_log;
pub mod exec;
pub mod export;
pub mod variables;
