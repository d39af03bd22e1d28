//! Environment variables from an opened document, for `cachet exec` and the
//! `env` and `k8s-secret` outputs. The rules are specified in `spec/deploy.md`.
//!
//! Every value of the document becomes one variable, sealed or not (the program
//! gets the whole config, as it would read it from the file). A table's keys join
//! its name through the separator: `database.password` is `DATABASE_PASSWORD`, or
//! `DATABASE__PASSWORD` with the separator `__` (pydantic-settings' nested
//! delimiter). An array is one variable holding its JSON text, which is how
//! pydantic-settings reads a complex field. Names that change how programs run
//! (`PATH`, `LD_PRELOAD`, `PYTHONPATH`…) are refused unless allowed by name: a
//! sealed value can be written by anyone holding the public key, so it must not
//! be able to take over the process that opens it.

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::document::ExportError;
use crate::document::tree::Value;
use crate::glob::PathGlob;
use crate::path::{Segment, ValuePath};

/// How key names become variable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Case {
    /// ASCII letters upper-cased (`database.password` → `DATABASE_PASSWORD`).
    #[default]
    Upper,
    /// Keys as written.
    Keep,
}

/// What to export and how to name it.
#[derive(Debug, Clone)]
pub struct VariableOptions {
    /// Joins the keys of a nested value (default `_`).
    pub separator: String,
    /// Put before every name (default none).
    pub prefix: String,
    /// Upper-case or keep the keys' case.
    pub case: Case,
    /// Export only the values these globs match (or that lie under a table they
    /// match); every value when empty. Each glob must match something.
    pub only: Vec<PathGlob>,
    /// Refused names that are allowed all the same (exact names).
    pub allow: Vec<String>,
}

impl Default for VariableOptions {
    fn default() -> Self {
        VariableOptions {
            separator: "_".to_string(),
            prefix: String::new(),
            case: Case::Upper,
            only: Vec::new(),
            allow: Vec::new(),
        }
    }
}

/// One environment variable and the path of the value it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The variable's name.
    pub name: String,
    /// Where its value is in the document.
    pub path: ValuePath,
    /// The value: a scalar's text, or an array's JSON text.
    pub value: Zeroizing<String>,
}

/// Names refused as they are written (compared without regard to case).
pub const REFUSED_NAMES: &[&str] = &[
    // Where programs and libraries are found, and what a shell runs first.
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "CDPATH",
    "GLOBIGNORE",
    "HOME",
    "SHELL",
    // Interpreters' start-up options and module paths.
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "NODE_EXTRA_CA_CERTS",
    "RUBYOPT",
    "RUBYLIB",
    "PERLLIB",
    "PERLIO",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "DOTNET_STARTUP_HOOKS",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "ERL_AFLAGS",
    "ERL_FLAGS",
    "ERL_ZFLAGS",
    "ELIXIR_ERL_OPTIONS",
    "GUNICORN_CMD_ARGS",
    // Servers that take their own options from the environment: which clients to
    // trust for forwarded addresses is a security decision, not a setting to seal.
    "FORWARDED_ALLOW_IPS",
    // The C library's unsafe-for-setuid list.
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TMPDIR",
    "TZDIR",
    // Trust and traffic: certificates, proxies, TLS key logs.
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "AWS_CA_BUNDLE",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "DOCKER_HOST",
    // Options and paths that make a runtime or tool run code of the value's
    // choosing.
    "JAVA_OPTS",
    "CATALINA_OPTS",
    "LUA_PATH",
    "LUA_CPATH",
    "ERL_LIBS",
    "GOFLAGS",
    "GEM_HOME",
    "GEM_PATH",
    "R_PROFILE_USER",
    "R_LIBS_USER",
    // Where shells and tools read their start-up files and helpers.
    "ZDOTDIR",
    "XDG_CONFIG_HOME",
    "LESSOPEN",
    "SSH_ASKPASS",
    "EDITOR",
    "VISUAL",
    "PAGER",
];

/// Name prefixes refused (compared without regard to case).
pub const REFUSED_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "PYTHON",
    "PERL5",
    "BASH_FUNC_",
    "MALLOC_",
    "GIT_",
    "OPENSSL_",
    "CORECLR_",
    "COR_PROFILER",
    "LUA_INIT",
    "UVICORN_",
    "UWSGI_",
    "NPM_CONFIG_",
    "BUNDLE_",
    "CACHET_",
];

/// Whether a shell can read a variable of this name (`$NAME`): letters, digits
/// and `_`, not starting with a digit. Other names still reach a program that
/// reads its environment directly, but not a shell script or `${NAME}` in a
/// configuration file.
pub fn shell_readable(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether a variable name is refused unless allowed by name.
pub fn is_refused(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    REFUSED_NAMES.contains(&upper.as_str()) || REFUSED_PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// The variables of one document, in document order.
///
/// The document's root must be a table. Two paths giving one name, a name no
/// environment can hold, a refused name not in `options.allow`, and a glob of
/// `options.only` that matches nothing are errors naming the paths.
pub fn variables(doc: &Value, options: &VariableOptions) -> Result<Vec<Variable>, ExportError> {
    let root = ValuePath::root();
    if !matches!(doc, Value::Table(_)) {
        return Err(ExportError::NotRepresentable {
            path: root,
            target: "environment variables",
            reason: "the document is not a table or mapping of named values",
        });
    }
    let mut out = Vec::new();
    let mut used = vec![false; options.only.len()];
    let mut path = root;
    collect(doc, &mut path, options, &mut used, &mut out)?;
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(ExportError::NoMatch(options.only[i].as_str().to_string()));
    }
    let mut seen: HashMap<&str, &ValuePath> = HashMap::new();
    for v in &out {
        if let Some(first) = seen.insert(&v.name, &v.path) {
            return Err(ExportError::Collision {
                name: v.name.clone(),
                first: first.clone(),
                second: v.path.clone(),
            });
        }
        if is_refused(&v.name) && !options.allow.contains(&v.name) {
            return Err(ExportError::RefusedName {
                name: v.name.clone(),
                path: v.path.clone(),
            });
        }
    }
    Ok(out)
}

fn collect(
    value: &Value,
    path: &mut ValuePath,
    options: &VariableOptions,
    used: &mut [bool],
    out: &mut Vec<Variable>,
) -> Result<(), ExportError> {
    if let Value::Table(entries) = value {
        for (key, child) in entries {
            path.push(Segment::Key(key.clone()));
            collect(child, path, options, used, out)?;
            path.pop();
        }
        return Ok(());
    }
    if !options.only.is_empty() {
        let mut wanted = false;
        for (glob, used) in options.only.iter().zip(used.iter_mut()) {
            if glob.matches_or_under(path) {
                *used = true;
                wanted = true;
            }
        }
        if !wanted {
            return Ok(());
        }
    }
    let text = match value {
        Value::Scalar(s) => Zeroizing::new(s.text().to_string()),
        // The JSON text of the whole array: pydantic-settings parses it for a
        // list or a list of models.
        _ => value.to_json(path, false)?,
    };
    if text.contains('\0') {
        return Err(ExportError::NotRepresentable {
            path: path.clone(),
            target: "an environment variable",
            reason: "the value holds a NUL character, which no environment can carry",
        });
    }
    out.push(Variable {
        name: name_of(path, options)?,
        path: path.clone(),
        value: text,
    });
    Ok(())
}

fn name_of(path: &ValuePath, options: &VariableOptions) -> Result<String, ExportError> {
    let bad = |reason| ExportError::BadName {
        path: path.clone(),
        reason,
    };
    let mut name = options.prefix.clone();
    for (i, segment) in path.segments().iter().enumerate() {
        let Segment::Key(key) = segment else {
            // Values under arrays are exported with their array.
            return Err(bad("it lies inside an array"));
        };
        if key.is_empty() {
            return Err(bad("a key is empty"));
        }
        if i > 0 {
            name.push_str(&options.separator);
        }
        match options.case {
            Case::Upper => name.push_str(&key.to_ascii_uppercase()),
            Case::Keep => name.push_str(key),
        }
    }
    // Portable names only: a line break or a blank in a name would let a key
    // pose as another variable wherever the environment is printed or saved.
    if !crate::format::env::is_key(&name) {
        return Err(bad(
            "a variable name starts with a letter or _ and holds only ASCII letters, digits, _ . and -",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::tree::build;
    use crate::format::Format;

    fn vars(
        format: Format,
        text: &str,
        options: &VariableOptions,
    ) -> Result<Vec<(String, String)>, String> {
        let doc = build(format, text).unwrap().remove(0);
        variables(&doc, options)
            .map(|vs| {
                vs.into_iter()
                    .map(|v| (v.name, v.value.to_string()))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const CONFIG: &str = "debug = false\n[database]\nurl = \"postgres://db/app\"\nport = 5432\n\n[[upstreams]]\nname = \"billing\"\nweight = 0.5\n\n[jwt]\nttl = 900\n";

    #[test]
    fn nested_names_arrays_and_types() {
        let got = vars(Format::Toml, CONFIG, &VariableOptions::default()).unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("DEBUG", "false"),
                ("DATABASE_URL", "postgres://db/app"),
                ("DATABASE_PORT", "5432"),
                ("UPSTREAMS", r#"[{"name":"billing","weight":0.5}]"#),
                ("JWT_TTL", "900"),
            ])
        );
        let options = VariableOptions {
            separator: "__".into(),
            prefix: "APP_".into(),
            case: Case::Keep,
            ..Default::default()
        };
        let got = vars(Format::Toml, CONFIG, &options).unwrap();
        assert_eq!(got[1].0, "APP_database__url");
    }

    #[test]
    fn only_selects_and_must_match() {
        let options = VariableOptions {
            only: vec![
                PathGlob::new("database").unwrap(),
                PathGlob::new("jwt.ttl").unwrap(),
            ],
            ..Default::default()
        };
        let got = vars(Format::Toml, CONFIG, &options).unwrap();
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["DATABASE_URL", "DATABASE_PORT", "JWT_TTL"]);
        let options = VariableOptions {
            only: vec![PathGlob::new("jwt.secret").unwrap()],
            ..Default::default()
        };
        assert_eq!(
            vars(Format::Toml, CONFIG, &options).unwrap_err(),
            "--only jwt.secret: matches no value of the file"
        );
    }

    #[test]
    fn collisions_name_both_paths() {
        let text = "database_url = \"a\"\n[database]\nurl = \"b\"\n";
        assert_eq!(
            vars(Format::Toml, text, &VariableOptions::default()).unwrap_err(),
            "database_url and database.url both give the variable DATABASE_URL; rename one key, or choose another --separator"
        );
        let options = VariableOptions {
            separator: "__".into(),
            ..Default::default()
        };
        assert!(vars(Format::Toml, text, &options).is_ok());
        let text = "{\"Key\": 1, \"KEY\": 2}";
        assert!(vars(Format::Json, text, &VariableOptions::default()).is_err());
        let options = VariableOptions {
            case: Case::Keep,
            ..Default::default()
        };
        assert!(vars(Format::Json, text, &options).is_ok());
    }

    #[test]
    fn refused_names_unless_allowed() {
        for (text, name) in [
            ("ld_preload = \"/tmp/x.so\"\n", "LD_PRELOAD"),
            ("path = \"/tmp\"\n", "PATH"),
            ("[python]\npath = \"/tmp\"\n", "PYTHON_PATH"),
            ("node_options = \"--require /tmp/x\"\n", "NODE_OPTIONS"),
            ("[cachet]\nidentity = \"x\"\n", "CACHET_IDENTITY"),
        ] {
            let err = vars(Format::Toml, text, &VariableOptions::default()).unwrap_err();
            assert!(
                err.contains(&format!("the variable {name} changes how programs run")),
                "{err}"
            );
            let options = VariableOptions {
                allow: vec![name.to_string()],
                ..Default::default()
            };
            assert!(vars(Format::Toml, text, &options).is_ok(), "{name}");
        }
        // Refused without regard to case, as some systems read names.
        let options = VariableOptions {
            case: Case::Keep,
            ..Default::default()
        };
        assert!(vars(Format::Toml, "ld_preload = \"x\"\n", &options).is_err());
        assert!(!is_refused("NODE_ENV"));
        assert!(!is_refused("DATABASE_PATH"));
        assert!(shell_readable("DB_PASSWORD") && shell_readable("_x1"));
        for name in ["MY-APP_API-KEY", "1X", "A.B", ""] {
            assert!(!shell_readable(name), "{name:?}");
        }
        for name in [
            "UWSGI_PYTHONPATH",
            "JAVA_OPTS",
            "CATALINA_OPTS",
            "JDK_JAVA_OPTIONS",
            "_JAVA_OPTIONS",
            "LUA_PATH",
            "LUA_CPATH",
            "ERL_LIBS",
            "ZDOTDIR",
            "LESSOPEN",
            "SSH_ASKPASS",
            "GOFLAGS",
            "NPM_CONFIG_REGISTRY",
            "BUNDLE_GEMFILE",
            "GEM_HOME",
            "GEM_PATH",
            "AWS_CA_BUNDLE",
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
            "DOCKER_HOST",
            "XDG_CONFIG_HOME",
            "R_PROFILE_USER",
        ] {
            assert!(is_refused(name), "{name}");
        }
    }

    #[test]
    fn names_no_environment_can_hold() {
        let err = vars(Format::Json, r#"{"a=b": 1}"#, &VariableOptions::default()).unwrap_err();
        assert_eq!(
            err,
            "\"a=b\": cannot be a variable name: a variable name starts with a letter or _ and holds only ASCII letters, digits, _ . and -"
        );
        assert!(vars(Format::Json, r#"{"": 1}"#, &VariableOptions::default()).is_err());
        // A key that would pose as another variable where names are printed.
        assert!(
            vars(
                Format::Json,
                r#"{"a\nLD_PRELOAD": 1}"#,
                &VariableOptions::default()
            )
            .is_err()
        );
        assert!(vars(Format::Json, r#"{"a b": 1}"#, &VariableOptions::default()).is_err());
        assert!(
            vars(
                Format::Json,
                r#"{"db-host.v2": 1}"#,
                &VariableOptions::default()
            )
            .is_ok()
        );
        assert_eq!(
            vars(
                Format::Json,
                r#"{"a": {"b": "x\u0000y"}}"#,
                &VariableOptions::default()
            )
            .unwrap_err(),
            "a.b: cannot be written as an environment variable: the value holds a NUL character, which no environment can carry"
        );
        assert_eq!(
            vars(Format::Json, "[1]", &VariableOptions::default()).unwrap_err(),
            "(root): cannot be written as environment variables: the document is not a table or mapping of named values"
        );
    }
}
