//! Property tests of line assembly and the command grammar: arbitrary bytes never panic,
//! memory stays bounded by `max_len`, and well-formed input comes out exactly as typed.

use bg95_at::{parse_body, strip_prefix, Arg, Form, LineAssembler, LineEvent, LineSettings};
use proptest::prelude::*;

/// Line settings with distinct S3/S4/S5 and a small limit (at least the two bytes of `AT`), so
/// overflow paths are exercised.
fn settings() -> impl Strategy<Value = LineSettings> {
    (0u8..128, 0u8..128, 0u8..128, any::<bool>(), 2usize..64)
        .prop_filter("S3, S4 and S5 differ", |(s3, s4, s5, _, _)| {
            s3 != s4 && s3 != s5 && s4 != s5
        })
        .prop_map(|(s3, s4, s5, echo, max_len)| LineSettings {
            s3,
            s4,
            s5,
            echo,
            max_len,
        })
}

/// Bytes biased towards the ones the assembler treats specially.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => Just(b'\r'),
        1 => Just(b'\n'),
        1 => Just(0x08u8),
        2 => Just(b'A'),
        2 => Just(b'T'),
        1 => Just(b'/'),
        1 => Just(b'a'),
    ];
    proptest::collection::vec(byte, 0..600)
}

fn feed(a: &mut LineAssembler, cfg: &LineSettings, bytes: &[u8]) -> (Vec<u8>, Vec<LineEvent>) {
    let mut echo = Vec::new();
    let mut events = Vec::new();
    for &b in bytes {
        if let Some(e) = a.push(b, cfg, &mut echo) {
            events.push(e);
        }
    }
    (echo, events)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(cfg in settings(), bytes in stream()) {
        let mut a = LineAssembler::new();
        let (echo, events) = feed(&mut a, &cfg, &bytes);
        // Echo is a copy of (part of) the input, and nothing when echo is off.
        prop_assert!(echo.len() <= bytes.len());
        if !cfg.echo {
            prop_assert!(echo.is_empty());
        }
        for e in &events {
            if let LineEvent::Line(line) = e {
                prop_assert!(line.len() <= cfg.max_len, "line of {} > {}", line.len(), cfg.max_len);
                prop_assert!(!line.contains(&cfg.s3) && !line.contains(&cfg.s5));
                if let Some(body) = strip_prefix(line) {
                    let _ = parse_body(body);
                }
            }
        }
        // Whatever is buffered is bounded too: a terminator hands it out. (A byte that
        // follows a terminator first, so it cannot be taken for the LF of a CR LF.)
        let mut flush = Vec::new();
        if a.after_terminator() {
            flush.push(cfg.s5);
        }
        flush.push(cfg.s3);
        let (_, tail) = feed(&mut a, &cfg, &flush);
        prop_assert_eq!(tail.len(), 1);
        if let LineEvent::Line(line) = &tail[0] {
            prop_assert!(line.len() <= cfg.max_len);
        }
        // And the assembler is usable again afterwards, unless the settings themselves make
        // `AT` untypeable (S3, S4 or S5 on `A` or `T`).
        let typeable = ![cfg.s3, cfg.s4, cfg.s5].iter().any(|c| matches!(c, b'A' | b'T'));
        if typeable {
            let (_, ok) = feed(&mut a, &cfg, &[b'A', b'T', cfg.s3]);
            prop_assert_eq!(ok, vec![LineEvent::Line(b"AT".to_vec())]);
        }
    }

    #[test]
    fn parse_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_body(&body);
        if let Some(rest) = strip_prefix(&body) {
            prop_assert!(body.ends_with(rest));
            let at = body.len() - rest.len();
            prop_assert!(body[at - 2..at].eq_ignore_ascii_case(b"AT"));
        }
    }

    /// Plain lines (no special bytes, shorter than the limit), ended by CR or CR LF, come out
    /// exactly as typed; the echo is the input minus the LF of each CR LF.
    #[test]
    fn plain_lines_round_trip(
        lines in proptest::collection::vec(("[ -.0-~]{0,40}", any::<bool>()), 0..20)
    ) {
        let cfg = LineSettings::default();
        let mut input = Vec::new();
        let mut want_echo = Vec::new();
        for (l, crlf) in &lines {
            input.extend_from_slice(l.as_bytes());
            input.push(b'\r');
            want_echo.extend_from_slice(l.as_bytes());
            want_echo.push(b'\r');
            if *crlf {
                input.push(b'\n');
            }
        }
        let mut a = LineAssembler::new();
        let (echo, events) = feed(&mut a, &cfg, &input);
        let want: Vec<LineEvent> =
            lines.iter().map(|(l, _)| LineEvent::Line(l.as_bytes().to_vec())).collect();
        prop_assert_eq!(events, want);
        prop_assert_eq!(echo, want_echo);
    }

    /// Extended commands with quoted and numeric parameters parse back to what was written;
    /// quoted strings keep commas, semicolons and case.
    #[test]
    fn extended_commands_round_trip(
        cmds in proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9]{0,8}", 0u8..4,
             proptest::collection::vec(prop_oneof![
                 "[^\"\\x00-\\x1f]{0,12}".prop_map(Arg::Quoted),
                 (0u32..100_000).prop_map(|n| Arg::Bare(n.to_string())),
                 Just(Arg::Omitted),
             ], 1..5)),
            1..5)
    ) {
        let mut body = String::new();
        let mut want = Vec::new();
        for (i, (name, form, args)) in cmds.iter().enumerate() {
            if i > 0 {
                body.push(';');
            }
            body.push('+');
            body.push_str(name);
            let form = match form {
                0 => { body.push_str("=?"); Form::Test }
                1 => { body.push('?'); Form::Read }
                2 => Form::Exec,
                _ => {
                    body.push('=');
                    let text: Vec<String> = args.iter().map(|a| match a {
                        Arg::Quoted(s) => format!("\"{s}\""),
                        Arg::Bare(s) => s.clone(),
                        Arg::Omitted | Arg::Unreadable => String::new(),
                    }).collect();
                    body.push_str(&text.join(","));
                    Form::Write(args.clone())
                }
            };
            want.push((format!("+{}", name.to_ascii_uppercase()), form));
        }
        let got = parse_body(body.as_bytes()).map_err(|e| TestCaseError::fail(format!("{body}: {e}")))?;
        let got: Vec<(String, Form)> = got.into_iter().map(|i| (i.name, i.form)).collect();
        prop_assert_eq!(got, want);
    }
}
