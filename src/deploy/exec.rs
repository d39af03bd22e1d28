//! What `exec` gives the program it runs (`spec/deploy.md` section 4): the
//! variables of every file, a later file's replacing an earlier one's, a variable
//! the caller's environment sets kept unless overridden, and the deploy key
//! removed.

use super::variables::Variable;

/// The variable holding a key's text, which the program does not get unless asked.
pub const IDENTITY_VARIABLE: &str = "CACHET_IDENTITY";

/// How the program's environment is made from cachet's own.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecOptions {
    /// A file's value replaces a variable cachet's environment sets already.
    pub override_env: bool,
    /// The program keeps `CACHET_IDENTITY`.
    pub keep_identity: bool,
}

/// The changes to cachet's environment that make the program's.
#[derive(Debug, Default)]
pub struct ExecEnvironment {
    /// Variables to set, in order.
    pub set: Vec<Variable>,
    /// Variables to remove.
    pub remove: Vec<&'static str>,
}

/// The variables of each file, in the order the files were named: a later file's
/// variable replaces an earlier file's of the same name.
pub fn merge_files(files: Vec<Vec<Variable>>) -> Vec<Variable> {
    let mut merged: Vec<Variable> = Vec::new();
    for vars in files {
        merged.retain(|old| !vars.iter().any(|v| v.name == old.name));
        merged.extend(vars);
    }
    merged
}

/// The program's environment: `variables` (see [`merge_files`]) except those
/// `is_set` in cachet's own environment (unless `override_env`), and without
/// `CACHET_IDENTITY` (unless `keep_identity`).
pub fn environment(
    variables: Vec<Variable>,
    options: ExecOptions,
    is_set: impl Fn(&str) -> bool,
) -> ExecEnvironment {
    ExecEnvironment {
        set: variables
            .into_iter()
            .filter(|v| options.override_env || !is_set(&v.name))
            .collect(),
        remove: if options.keep_identity {
            Vec::new()
        } else {
            vec![IDENTITY_VARIABLE]
        },
    }
}

#[cfg(test)]
mod tests {
    use zeroize::Zeroizing;

    use super::*;

    fn var(name: &str, value: &str) -> Variable {
        Variable {
            name: name.into(),
            value: Zeroizing::new(value.into()),
            path: name.parse().unwrap(),
        }
    }

    fn names(env: &ExecEnvironment) -> Vec<(&str, &str)> {
        env.set
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect()
    }

    #[test]
    fn a_later_file_wins_and_the_callers_environment_is_kept_unless_overridden() {
        let merged = merge_files(vec![
            vec![var("A", "1"), var("B", "1")],
            vec![var("B", "2"), var("C", "2")],
        ]);
        let set = |name: &str| name == "C";
        let env = environment(merged, ExecOptions::default(), set);
        assert_eq!(names(&env), [("A", "1"), ("B", "2")]);
        assert_eq!(env.remove, ["CACHET_IDENTITY"]);
        let merged = merge_files(vec![vec![var("C", "2")]]);
        let env = environment(
            merged,
            ExecOptions {
                override_env: true,
                keep_identity: true,
            },
            set,
        );
        assert_eq!(names(&env), [("C", "2")]);
        assert!(env.remove.is_empty());
    }
}
