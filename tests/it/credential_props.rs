//! Properties of the credential detectors `cachet check` uses: what must always be
//! found (a URL with a real password wherever it stands, a PEM private key block,
//! an AWS access key id standing alone), what must never be (hex without PEM
//! markers, a key id inside a longer word, placeholders), and that no input makes
//! them panic.

use cachet::survey::credential::{CredentialKind, detect, holds, is_placeholder};
use proptest::prelude::*;

fn scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "postgres",
        "postgresql",
        "mysql",
        "redis",
        "rediss",
        "amqp",
        "mongodb+srv",
        "https",
        "smtp",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_url_with_a_real_password_is_always_found_wherever_it_stands(
        scheme in scheme(),
        user in "[a-z][a-z0-9_]{0,11}",
        password in "[A-Za-z0-9!$%^*_+=~.-]{4,40}",
        host in "[a-z][a-z0-9.-]{0,20}",
        before in "[A-Za-z_ =]{0,12}",
        after in "(/[a-z]{0,8})?( [a-z]{0,8})?",
    ) {
        prop_assume!(!is_placeholder(&password));
        let url = format!("{scheme}://{user}:{password}@{host}");
        prop_assert_eq!(detect(&url), Some(CredentialKind::UrlWithPassword));
        // It is what `seal` seals by content, too.
        prop_assert!(cachet::document::selection::content_is_secret(&url));
        let embedded = format!("{before} {url}{after}");
        prop_assert!(holds(CredentialKind::UrlWithPassword, &embedded), "{}", embedded);
    }

    #[test]
    fn a_url_without_a_password_or_with_a_placeholder_is_not_a_credential(
        scheme in scheme(),
        user in "[a-z]{1,8}",
        host in "[a-z]{1,12}",
        placeholder in prop::sample::select(vec!["", "changeme", "${DB_PASSWORD}", "$PW", "xxxxxx", "<password>", "{{ pw }}"]),
    ) {
        prop_assert_eq!(detect(&format!("{scheme}://{user}@{host}/db")), None);
        prop_assert_eq!(detect(&format!("{scheme}://{user}:{placeholder}@{host}/db")), None);
    }

    #[test]
    fn hex_without_markers_is_never_a_credential(hex in "[0-9a-f\n]{0,4000}") {
        prop_assert_eq!(detect(&hex), None);
        prop_assert!(!holds(CredentialKind::PemPrivateKey, &hex));
    }

    #[test]
    fn a_pem_private_key_block_is_always_found(
        label in prop::sample::select(vec!["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA "]),
        body in prop::collection::vec("[A-Za-z0-9+/]{64}", 1..8),
    ) {
        let pem = format!(
            "-----BEGIN {label}PRIVATE KEY-----\n{}\n-----END {label}PRIVATE KEY-----\n",
            body.join("\n")
        );
        prop_assert_eq!(detect(&pem), Some(CredentialKind::PemPrivateKey));
        prop_assert!(cachet::document::selection::pem_private_key_header(&pem));
        // A public key or a certificate with the same body is not a private key.
        let public = pem.replace("PRIVATE KEY", "PUBLIC KEY");
        prop_assert!(!holds(CredentialKind::PemPrivateKey, &public));
    }

    #[test]
    fn an_aws_key_id_is_found_standing_alone_and_not_inside_a_word(
        prefix in prop::sample::select(vec!["AKIA", "ASIA"]),
        rest in "[A-Z2-7]{16}",
        word in "[A-Za-z0-9]",
    ) {
        prop_assume!(!rest.ends_with("EXAMPLE"));
        let id = format!("{prefix}{rest}");
        prop_assert_eq!(detect(&id), Some(CredentialKind::AwsAccessKeyId));
        let quoted = format!("key=\"{id}\"");
        prop_assert!(holds(CredentialKind::AwsAccessKeyId, &quoted));
        let inside = format!("{word}{id}");
        prop_assert!(!holds(CredentialKind::AwsAccessKeyId, &inside));
        let longer = format!("{id}{word}");
        prop_assert!(!holds(CredentialKind::AwsAccessKeyId, &longer));
    }

    #[test]
    fn a_github_token_is_found_with_each_prefix(
        prefix in prop::sample::select(vec!["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
        rest in "[A-Za-z0-9]{36}",
    ) {
        let token = format!("{prefix}{rest}");
        prop_assert_eq!(detect(&token), Some(CredentialKind::GithubToken));
        let short = &token[..token.len() - 1];
        prop_assert!(!holds(CredentialKind::GithubToken, short));
    }

    #[test]
    fn the_detectors_never_panic(s in "\\PC{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = detect(&s);
        let _ = is_placeholder(&s);
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = detect(&lossy);
        let mixed = format!("é://{s}:ü@{lossy}-----BEGIN {s}PRIVATE KEY-----{lossy}");
        let _ = detect(&mixed);
    }
}
