"""How well reply extraction keeps new text and drops quoted history, on public corpora.

    .venv/bin/python bench/reply_corpus.py --talon DIR --zapier DIR [-v]

DIR is a checkout of github.com/mailgun/talon (reads `tests/fixtures` and, for the inline
cases, `tests/text_quotations_test.py`) and of github.com/zapier/email-reply-parser (reads
`test/emails` and runs its `email_reply_parser` module as the reference its own tests
pin down). Also from `REPLY_CORPUS_TALON` / `REPLY_CORPUS_ZAPIER`. Nothing of either corpus
is copied into this repository: texts and expected results are read from the checkouts.

Every case is run through `portal.notify.reply_text.reply_text` (the function mail-in uses)
as a real email (text/plain, or text/html for HTML fixtures) and judged line by line,
whitespace-insensitively:
- exact: the posted text is the expected reply;
- acceptable: every expected line is there and no quoted line leaked (a kept signature);
- wrong: a cut (an expected line is missing) and/or a leak (a quoted line was posted).
"""

import argparse
import ast
import email.policy
import os
import re
import sys
from dataclasses import dataclass, field
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portal.notify.reply_text import html_to_text, reply_text  # noqa: E402

TALON_HTML_EXPECTED = {
    # From tests/html_quotations_test.py: extract_reply_and_check() and the named tests.
    "html_replies": ["Hi. I am fine.", "Thanks,", "Alex"],
    "OLK_SRC_BODY_SECTION.html": ["Reply"],
    "reply-separated-by-hr.html": ["Hi", "there"],
}


@dataclass
class Case:
    name: str
    body: str
    required: list  # lines the reply must keep
    quoted: list  # lines that must not be posted
    optional: list = field(default_factory=list)  # signature lines: either way
    html: bool = False
    forbidden_words: list = field(default_factory=list)
    also_exact: list = field(default_factory=list)  # the reference's own output, if other
    message: object = None  # the corpus's own email, when it is one (plain and HTML parts)


def norm(line):
    return re.sub(r"\s+", "", line)


def lines(text):
    return [n for n in (norm(line) for line in text.splitlines()) if n]


def as_email(case):
    if case.message is not None:
        return case.message
    message = EmailMessage(policy=email.policy.default)
    message["From"] = "client@example.test"
    message["Subject"] = "Re: a question"
    message.set_content(case.body, subtype="html" if case.html else "plain")
    return message


def judge(case, got):
    got_lines = lines(got)
    required = [norm(line) for line in case.required if norm(line)]
    keep = set(required) | {norm(line) for line in case.optional}
    quoted = {norm(line) for line in case.quoted} - keep - {""}
    cut = [line for line in required if line not in got_lines]
    if case.forbidden_words:
        cut = [] if got_lines else ["(empty)"]
    leak = [line for line in got_lines if line in quoted]
    leak += [w for w in case.forbidden_words if w in got]
    if cut or leak:
        return "wrong", cut, leak
    exact = got_lines == required or got_lines == lines("\n".join(case.also_exact))
    return ("exact" if exact or not required else "acceptable"), cut, leak


# --- talon -------------------------------------------------------------------------------


def talon_cases(root):
    fixtures = os.path.join(root, "tests", "fixtures")
    standard = os.path.join(fixtures, "standard_replies")
    for name in sorted(os.listdir(standard)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(standard, name), "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        body = message.get_body(("plain",)).get_content()
        # tests/text_quotations_test.py test_standard_replies: `<name>_reply_text` or "Hello".
        expected_path = os.path.join(standard, name[:-4] + "_reply_text")
        expected = "Hello"
        if os.path.exists(expected_path):
            with open(expected_path) as f:
                expected = f.read().strip()
        case = _text_case(f"standard_replies/{name}", body, expected)
        case.message = message
        yield case
    html_dir = os.path.join(fixtures, "html_replies")
    for name in sorted(os.listdir(html_dir)):
        with open(os.path.join(html_dir, name), encoding="utf8") as f:
            yield _html_case(f"html_replies/{name}", f.read(), TALON_HTML_EXPECTED["html_replies"])
    for name in ("OLK_SRC_BODY_SECTION.html", "reply-separated-by-hr.html"):
        with open(os.path.join(fixtures, name), encoding="utf8") as f:
            yield _html_case(name, f.read(), TALON_HTML_EXPECTED[name])
    # test_reply_quotations_share_block: something is posted and "From" is not in it.
    with open(os.path.join(fixtures, "reply-quotations-share-block.eml"), "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    body = message.get_body(("plain",)).get_content()
    yield Case(
        "reply-quotations-share-block.eml", body, [], [], forbidden_words=["From"], message=message
    )


def talon_inline_cases(root):
    """`eq_(expected, quotations.extract_from_plain(msg_body))` in text_quotations_test.py.

    The test module is read as source and only evaluated for literal strings: every test
    function whose body assigns string literals and compares one with extract_from_plain.
    """
    path = os.path.join(root, "tests", "text_quotations_test.py")
    with open(path, encoding="utf8") as f:
        tree = ast.parse(f.read())
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or not function.name.startswith("test"):
            continue
        if function.decorator_list:
            continue  # patched module constants (line limits): not about attribution
        names = {}
        for statement in function.body:  # in order: a test may reuse `msg_body`
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name):
                    names[target.id] = _literal(statement.value, names)
            for node in ast.walk(statement):
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "eq_"):
                    continue
                if len(node.args) < 2 or not _is_extract(node.args[1]):
                    continue
                expected = _literal(node.args[0], names)
                body = _literal(node.args[1].args[0], names) if node.args[1].args else None
                if isinstance(expected, str) and isinstance(body, str):
                    yield _text_case(f"inline/{function.name}:{node.lineno}", body, expected)


def _is_extract(node):
    return isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "extract_from_plain"


def _literal(node, names):
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, names), _literal(node.right, names)
        return left + right if isinstance(left, str) and isinstance(right, str) else None
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _text_case(name, body, expected):
    required = expected.splitlines()
    wanted = {norm(line) for line in required}
    return Case(name, body, required, [x for x in body.splitlines() if norm(x) not in wanted])


def _html_case(name, html, expected):
    whole = html_to_text(html).splitlines()
    return Case(name, html, expected, whole, html=True)


# --- zapier ------------------------------------------------------------------------------


def zapier_cases(root):
    """Each file of test/emails with the fragments the reference parser (pinned by
    test/test_email_reply_parser.py) shows, hides as quoted history, or hides as signature."""
    sys.path.insert(0, root)
    try:
        from email_reply_parser import EmailReplyParser
    finally:
        sys.path.remove(root)
    directory = os.path.join(root, "test", "emails")
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf8", newline="") as f:
            body = f.read()
        fragments = EmailReplyParser.read(body).fragments
        # New text is what it shows unquoted; the quotes it shows between answers of an
        # inline reply are context: keeping or dropping them is both fine.
        shown = [x for f in fragments if not f.hidden for x in f.content.splitlines()]
        required = [x for f in fragments if not f.hidden and not f.quoted for x in _lines(f)]
        optional = [x for f in fragments if f.hidden and f.signature for x in _lines(f)]
        optional += [x for f in fragments if not f.hidden and f.quoted for x in _lines(f)]
        quoted = [x for f in fragments if f.hidden and not f.signature for x in _lines(f)]
        body = body.replace("\r\n", "\n")
        yield Case(name, body, required, quoted, optional, also_exact=shown)


def _lines(fragment):
    return fragment.content.splitlines()


# --- run ---------------------------------------------------------------------------------


def run(title, cases, verbose, prefer=("plain", "html")):
    """Print one line of figures; (number of cuts, share exact-or-acceptable)."""
    counts = {"exact": 0, "acceptable": 0, "wrong": 0}
    cuts = leaks = 0
    for case in cases:
        got = reply_text(as_email(case), prefer=prefer)
        verdict, cut, leak = judge(case, got)
        counts[verdict] += 1
        cuts += bool(cut)
        leaks += bool(leak)
        if verbose and verdict != "exact":
            print(f"  {verdict:10} {case.name}  cut={cut[:3]} leak={leak[:3]}")
            if verbose > 1:
                print("    " + got.replace("\n", "\n    "))
    total = sum(counts.values())
    good = counts["exact"] + counts["acceptable"]
    print(
        f"{title:14} {total:4} cases  exact {counts['exact']:4}  acceptable "
        f"{counts['acceptable']:3}  wrong {counts['wrong']:3} (cuts {cuts}, leaks {leaks})  "
        f"exact-or-acceptable {100 * good / max(total, 1):5.1f} %"
    )
    return cuts, good / max(total, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--talon", default=os.environ.get("REPLY_CORPUS_TALON"))
    parser.add_argument("--zapier", default=os.environ.get("REPLY_CORPUS_ZAPIER"))
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    if not args.talon and not args.zapier:
        parser.error("give --talon and/or --zapier (checkouts of the two corpora)")
    results = []
    if args.talon:
        fixtures, inline = list(talon_cases(args.talon)), list(talon_inline_cases(args.talon))
        run("  fixtures", fixtures, args.verbose)
        run("  inline", inline, 0)
        results.append(run("talon", fixtures + inline, 0))
        # The emails that carry both parts: the plain part (used) against the HTML part.
        both = [c for c in fixtures if c.message and c.message.get_body(("html",))]
        run("  both, plain", both, 0)
        run("  both, HTML", both, args.verbose, prefer=("html", "plain"))
    if args.zapier:
        results.append(run("zapier", list(zapier_cases(args.zapier)), args.verbose))
    met = all(cuts == 0 and share >= 0.97 for cuts, share in results)
    print("target (0 cuts, >= 97 % exact-or-acceptable):", "met" if met else "NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
