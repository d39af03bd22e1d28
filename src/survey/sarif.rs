//! `cachet check --format sarif`: the findings as a SARIF 2.1.0 log, the format
//! code-scanning dashboards read (`spec/audit.md` section 4.5). Like every
//! finding, a result names a file, a value's path and a kind, never a value.

use serde_json::{Value, json};

use super::environments::EnvironmentLine;
use super::findings::{Finding, Severity};
use crate::team::policy::POLICY_FILE;

/// The SARIF log of one `check` run: each environment line with a severity and
/// each finding is a result; a rule per finding kind (`unsealed`, `credential`,
/// …) and one, `environment`, for the environment lines. `version` is cachet's.
pub fn log(environments: &[EnvironmentLine], findings: &[Finding], version: &str) -> Value {
    let level = |s: Severity| match s {
        Severity::Problem => "error",
        Severity::Warning => "warning",
    };
    let mut rules: Vec<&'static str> = Vec::new();
    let mut results = Vec::new();
    for line in environments {
        let Some(severity) = line.severity else {
            continue;
        };
        if !rules.contains(&"environment") {
            rules.push("environment");
        }
        results.push(json!({
            "ruleId": "environment",
            "level": level(severity),
            "message": { "text": line.text },
            "locations": [{
                "physicalLocation": { "artifactLocation": { "uri": POLICY_FILE } }
            }],
        }));
    }
    for f in findings {
        let rule = f.kind.id();
        if !rules.contains(&rule) {
            rules.push(rule);
        }
        // An environment's finding (a glob, an overdue key) is about the policy.
        let uri = if f.kind.about_environment() {
            POLICY_FILE
        } else {
            f.subject.as_str()
        };
        let mut location = json!({
            "physicalLocation": { "artifactLocation": { "uri": uri } }
        });
        if let Some((document, path)) = &f.value {
            location["logicalLocations"] = json!([{
                "fullyQualifiedName": path.to_string(),
                "kind": "member",
                "index": document,
            }]);
        }
        results.push(json!({
            "ruleId": rule,
            "level": level(f.severity),
            "message": { "text": f.to_string() },
            "locations": [location],
        }));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cachet",
                "version": version,
                "rules": rules.iter().map(|r| json!({ "id": r })).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}
