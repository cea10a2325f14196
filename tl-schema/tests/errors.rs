//! Syntax errors name the line, the column, what was found and what was expected.

use tl_schema::parse;

fn first_error(text: &str) -> tl_schema::ParseError {
    parse(text).unwrap_err().errors.remove(0)
}

#[test]
fn missing_semicolon_points_at_the_end() {
    let e = first_error("a#00000001 = A;\nuser#12345678 id:long = User\n");
    assert_eq!((e.line, e.column), (2, 29));
    assert!(e.expected.contains("`;`"), "{}", e.expected);
}

#[test]
fn bad_parameter_is_located() {
    let e = first_error("user#12345678 id:long name = User;");
    assert_eq!((e.line, e.column), (1, 27));
    assert!(e.expected.contains("`:`"), "{}", e.expected);
    assert_eq!(e.line_text, "user#12345678 id:long name = User;");
    let shown = e.to_string();
    assert!(shown.contains("line 1, column 27"), "{shown}");
    assert!(shown.contains("found ` = User;`"), "{shown}");
}

#[test]
fn bad_id_and_flag_bit() {
    let e = first_error("user#xyz = User;");
    assert_eq!((e.line, e.column), (1, 6));
    assert!(e.expected.contains("hexadecimal"));
    let e = first_error("user#123456789 = User;");
    assert!(e.expected.contains("at most 8 digits"));
    assert_eq!(
        (e.line, e.column, e.found.as_str()),
        (1, 6, "123456789 = User;")
    );
    let e = first_error("user#1 flags:# a:flags.32?int = User;");
    assert!(e.expected.contains("0 to 31"), "{}", e.expected);
    assert_eq!(
        (e.line, e.column, e.found.as_str()),
        (1, 24, "32?int = User;")
    );
}

/// Found by the `tl_parse` fuzz target: these two errors were placed by the length of the
/// offending token counted back from the end of the file, so they pointed at the wrong line
/// (or into the middle of a character, and the parser panicked).
#[test]
fn errors_inside_a_definition_are_placed_right_before_more_text() {
    let e = first_error("a#123456789 = A;\nb#00000002 = B; // ünïcödé comment\n");
    assert_eq!((e.line, e.column), (1, 3));
    let e = first_error("a#1 flags:# x:flags.99?int = A;\n// ü\n");
    assert_eq!((e.line, e.column), (1, 21));
    let text = "B#AAAAAAAAA\u{fffd}\u{fffd}\u{fffd}AA;-";
    let e = first_error(text);
    assert_eq!((e.line, e.column), (1, 3));
}

#[test]
fn unclosed_generic_and_type_argument() {
    let e = first_error("f#1 {X:Type x:!X = X;");
    assert!(e.expected.contains("`}`"), "{}", e.expected);
    let e = first_error("f#1 x:Vector<long = X;");
    assert!(e.expected.contains("`>`"), "{}", e.expected);
}

#[test]
fn every_bad_line_is_reported_and_good_lines_still_parse() {
    let errors =
        parse("good#1 = A;\nbad#1 x = A;\nalso_good#2 = A;\n---oops\nbad2 = ;\n").unwrap_err();
    let lines: Vec<usize> = errors.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 4, 5]);
}

#[test]
fn unterminated_block_comment() {
    let e = first_error("a#1 = A;\n/* never closed\nb#2 = B;");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(e.expected.contains("*/"));
}

#[test]
fn language_features_used_by_telegram() {
    let schema = parse(
        "/* block\ncomment */ int ? = Int;\nvector#1cb5c415 {t:Type} # [ t ] = Vector t;\n\
         msg_container#73f1f8dc messages:vector<%Message> = MessageContainer;\n\
         ---functions---\n\
         invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;\n\
         ---types---\n\
         u#1 flags:# a:flags.0?true flags2:# b:flags2.3?Vector<long> = U;\n",
    )
    .unwrap();
    let v = &schema.definitions[1];
    assert!(v.is_builtin_vector());
    assert_eq!(
        v.to_string(),
        "vector#1cb5c415 {t:Type} # [ t ] = Vector t;"
    );
    assert_eq!(tl_schema::compute_id(v), 0x1cb5c415);
    let container = &schema.definitions[2];
    let tl_schema::ParameterKind::Value { ty, .. } = &container.params[0].kind else {
        panic!()
    };
    let item = ty.generic_arg.as_ref().unwrap();
    assert!(ty.bare && item.bare && item.percent && item.name == "Message");
    let invoke = &schema.definitions[3];
    assert_eq!(invoke.category, tl_schema::Category::Function);
    assert_eq!(invoke.generics[0].name, "X");
    assert_eq!(tl_schema::compute_id(invoke), 0xda9b0d0d);
    assert_eq!(schema.definitions[4].category, tl_schema::Category::Type);
}
