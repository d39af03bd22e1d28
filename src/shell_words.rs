//! Command lines split into words as a POSIX shell would, without expansions, for
//! the commands cachet runs without a shell: an identity command
//! (`CACHET_IDENTITY_COMMAND`) and the editor.

/// Splits a command line into words like a POSIX shell, without expansions:
/// blanks separate words, single quotes keep everything, double quotes keep
/// everything but `\"`, `\\`, `\$` and `` \` ``, and a backslash outside quotes
/// keeps the next character. There are no variables, globs, pipes or
/// redirections: the words are run as they are, without a shell (the editor, and
/// `CACHET_IDENTITY_COMMAND`).
pub fn split_words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("a single quote is not closed"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("a double quote is not closed"),
                        },
                        Some(c) => w.push(c),
                        None => return Err("a double quote is not closed"),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("it ends with a lone backslash"),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_split_like_a_shell_quotes_and_no_more() {
        let ok = |s: &str| super::split_words(s).unwrap();
        assert_eq!(
            ok("vault kv get -field=key secret/app"),
            ["vault", "kv", "get", "-field=key", "secret/app"]
        );
        assert_eq!(ok("cat 'my key.txt'"), ["cat", "my key.txt"]);
        assert_eq!(
            ok(r#"echo "a \"b\" \$HOME \n" c\ d"#),
            ["echo", r#"a "b" $HOME \n"#, "c d"]
        );
        assert_eq!(ok("a '' \"\""), ["a", "", ""]);
        assert_eq!(ok("x | y $HOME *"), ["x", "|", "y", "$HOME", "*"]);
        for bad in ["'open", "\"open", "x\\"] {
            assert!(super::split_words(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ok("   "), Vec::<String>::new());
    }
}
