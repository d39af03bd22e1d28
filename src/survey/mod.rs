//! What a repository holds, read without any key: which environment covers each
//! file, each value's state (sealed and to which key, plain and whether it should
//! be sealed, a credential by its content, a conflict, malformed), the findings
//! `cachet check` reports and the inventory `cachet audit` shows.
//!
//! Normative text: `spec/audit.md` (files and values, section 1 and 2; the
//! inventory, section 3; the findings, section 4).

pub mod checkout;
pub mod credential;
pub mod environments;
pub mod files;
pub mod findings;
pub mod inventory;
pub mod sarif;

pub use files::{
    AttestationState, FileProblem, FileSurvey, KeyIndex, KeyStatus, SealReason, SurveyedValue,
    ValueState, attestation_state, survey_document, survey_file, survey_link,
};
