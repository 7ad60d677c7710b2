"""Where the quoted history of a reply starts: attribution lines, header blocks, `>` lines.

A reply is new text interleaved with quoted text. Every line is new unless a rule below
says it is quoted; when unsure the line is kept (a leaked quote is bad, a lost client
sentence is worse). Signatures are kept: "-250 EUR" or "- the signed contract" are client
text, and nothing tells them apart from a "-Name" sign-off.

The rules, top to bottom of the reply:
- a forwarded message ("---------- Forwarded message ----------") is content: kept whole;
- an "original message" line or a header block (From:/De :/Von: then Sent:/Envoyé le :/…)
  starts the quoted history: everything from there is dropped (Outlook, Yahoo, AOL);
- an attribution line ("On … wrote:", "Op … schreef:", "W dniu … napisał:", "In data … ha
  scritto:", "Le … a écrit :", "2017-11-24 16:32 GMT+01:00 Name <addr>:", "---- Name wrote
  ----"), possibly split over up to four lines, is dropped; if `>` lines follow it, only they
  are quoted and new text after them is kept (bottom-posted and interleaved replies),
  otherwise the rest of the email is the unmarked quote;
- a `>` line is quoted.
"""

import re

# The words mail programs put before the quote, per language the portal speaks (and a few).
_VERBS = (
    r"wrote|writes|sent|schreef|geschreven|schrieb|geschrieben|a\s+écrit|écrit|escribió|"
    r"escreveu|ha\s+scritto|scrisse|napisał|napisała|napisał\(a\)|napsal|napsala|skrev|"
    r"pisze|kirjoitti|написал|написала|пишет|đã\s+viết|yazdı|írta"
)
# Substrings one of which every attribution has (a verb or an address): a cheap first test.
_CLUES = (
    "@", "wrote", "writes", "sent", "schreef", "geschreven", "schrieb", "écrit", "escribi",
    "escreveu", "scritto", "scrisse", "napisa", "napsal", "skrev", "pisze", "kirjoitti",
    "написал", "пишет", "viết", "yazdı", "írta",
)  # fmt: skip
# How an attribution starts: "On", "Op", "Le", "Am", "El", "Em", "Il giorno", "In data",
# "W dniu", "Dne", "Den", "På", "Vào", or a date.
# Or a weekday then the day: "pe 20. lokakuuta 2017 klo 17.50 …", "tir. 18. apr. 2017 …".
_DAYS = (
    r"mon|tue|wed|thu|fri|sat|sun|lun|mar|mer|mié|jeu|gio|jue|ven|vie|sam|sab|sáb|dim|dom|"
    r"seg|ter|qua|qui|sex|mo|di|mi|do|fr|sa|so|ma|wo|vr|za|zo|ti|ke|to|pe|la|su|man|tir|tis|"
    r"ons|tor|tors|fre|lør|lör|søn|sön|pon|wt|śr|czw|pt|sob|ndz|po|út|st|čt|pá|ne|"
    r"пн|вт|ср|чт|пт|сб|вс"
)
_LEADS = (
    r"(?:(?:on|op|le|am|el|em|il\s+giorno|in\s+data|w\s+dniu|dne|den|på|vào)\b|\d|"
    rf"(?:{_DAYS})\.?,?\s+\d)"
)
_EMAIL = r"<?\s*(?:mailto:)?[^\s<>@]+@[^\s<>@]+\s*>?"
# What a mail program's attribution has and a client's sentence ("On 3 May the bank
# wrote:") has not: an address, a time of day, a year or a numeric date.
_EVIDENCE = re.compile(
    rf"{_EMAIL}|\b\d{{1,2}}[:.]\d{{2}}\b|\b(?:19|20)\d{{2}}\b|\b\d{{1,4}}[-/.]\d{{1,2}}[-/.]\d{{1,4}}\b"
)
# Enough to drop everything below an attribution that no `>` line follows, or to join lines
# into one: an address or a time of day ("On 12 May 2025 the bank sent:" has neither).
_SURE = re.compile(r"@|\b\d{1,2}:\d{2}\b|\bklo?\.?\s*\d{1,2}[.:]\d{2}\b", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    rf"^\s*-*\s*(?P<lead>{_LEADS})?.*?(?:{_VERBS})\s*:?\s*-*\s*$", re.IGNORECASE
)
# "Op 13-02-2014 3:18 schreef Julius <j@rome.example>:", "Am … schrieb Name <addr>:".
_VERB_THEN_NAME = re.compile(
    rf"^\s*-*\s*(?P<lead>{_LEADS}).*?\b(?:{_VERBS})\b.{{0,120}}:\s*$", re.IGNORECASE
)
# "2017-11-24 16:32 GMT+01:00 Name <addr>:" and "2011/4/7 Name <addr>" (Gmail, Apple).
_DATE_ONLY = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b.{0,200}<[^<>]*@[^<>]*>\s*:?\s*$")
# "Thu, 26 Jun 2014 14:00:51 +0400 от Name <addr>:" (mail.ru): a time, then an address.
_WEEKDAYS = _DAYS
_STARTS = re.compile(rf"^\s*-*\s*(?:{_LEADS}|(?:{_WEEKDAYS})\w*\.?,)", re.IGNORECASE)
_TIME_ADDRESS = re.compile(
    rf"^\s*(?:\d|(?:{_WEEKDAYS})\w*\.?,).{{0,200}}\b\d{{1,2}}:\d{{2}}\b.{{0,200}}"
    r"<[^<>]*@[^<>]*>\s*:\s*$",
    re.IGNORECASE,
)
# "---- John Smith wrote ----" (Android, Zoho): no date needed, the dashes say it.
_DASHED_WROTE = re.compile(rf"^\s*-{{2,}}.{{1,200}}?\b(?:{_VERBS})\b\s*:?\s*-{{2,}}\s*$", re.I)
# "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" on one line.
_INLINE_ATTRIBUTION = re.compile(r"(?:-{2,}\s*)?\bOn\s(?=.*\d).*\b(?:wrote|sent)\s*:\s*$")
_INLINE_CLUES = re.compile(r"wrote|sent", re.IGNORECASE)
# Attribution rules look at most this many characters (a line, or lines joined): every
# regex stays linear-ish on a hostile 100 kB line.
_LONGEST = 400
MAX_TEXT = 500_000  # ~2 s of CPU at worst (measured on a hostile line pattern)
_ORIGINAL = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:original\s+message|reply\s+message|ursprüngliche\s+nachricht|"
    r"antwort\s+nachricht|oprindelig\s+meddelelse|oprindelig\s+besked|message\s+d'origine|"
    r"message\s+original|messaggio\s+originale|"
    r"oorspronkelijk\s+bericht|wiadomość\s+oryginalna|mensaje\s+original|mensagem\s+original|"
    r"originalmeddelande|opprinnelig\s+melding|původní\s+zpráva|alkuperäinen\s+viesti|"
    r"исходное\s+сообщение)\s*[-_=*]*\s*$",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(?:-+\s*(?:forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|"
    r"doorgestuurd\s+bericht|messaggio\s+inoltrato|wiadomość\s+przekazana\s+dalej|"
    r"mensaje\s+reenviado|vidarebefordrat\s+meddelande)\s*-+|begin\s+forwarded\s+message:)\s*$",
    re.IGNORECASE,
)
# A header block: a From line, then within four lines a Sent/Date/To/Subject line.
_FROM = re.compile(
    r"^\s*\*?\s*(?:from|de|von|van|da|od|från|fra|lähettäjä|от|feladó)\s*:\s*\*?\s*\S",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"^\s*\*?\s*(?:sent|date|to|cc|subject|envoyé(?:\s+le)?|à|objet|gesendet|an|betreff|"
    r"verzonden|datum|aan|onderwerp|inviato|data|a|oggetto|wysłano|do|temat|skickat|till|"
    r"ämne|sendt|til|emne|enviado(?:\s+el)?|enviada(?:\s+em)?|para|asunto|assunto|fecha|"
    r"sujet|copie(?:\s+à)?|message\s+du|odesláno|komu|předmět|отправлено|кому|тема|дата)\s*:",
    re.IGNORECASE,
)
_DATE_HEADER = re.compile(
    r"^\s*\*?\s*(?:sent|date|envoyé(?:\s+le)?|gesendet|verzonden|datum|inviato|data|"
    r"wysłano|skickat|sendt|enviado(?:\s+el)?|enviada(?:\s+em)?|fecha|message\s+du|odesláno|"
    r"отправлено|дата)\s*:\s*\*?\s*\S",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:[-_=]{3,}|(?:\*\s*){3,})\s*$")
_MAX_ATTRIBUTION_LINES = 4  # "On …, Name <" / "addr>" / "wrote:" and Polymail's "mailto:"


def new_text(text):
    """The new text of a plain-text reply: quoted history dropped, every new line kept."""
    # A posted message is at most BODY_MAX (10,000) characters: new text found only after
    # half a megabyte of quote can't be posted anyway, and a hostile email is not read on.
    text = text[:MAX_TEXT]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = []
    seen_quote = False  # an attribution or a `>` block above: `>` lines are quotes for sure
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FORWARDED.match(line):
            kept.extend(lines[i:])
            break
        if _ORIGINAL.match(line) or _header_block(lines, i):
            _drop_rules(kept)
            break
        inline = None
        if not _quoted(line) and len(line) <= _LONGEST and _INLINE_CLUES.search(line):
            inline = _INLINE_ATTRIBUTION.search(line)
        if inline and re.search(r"\w", line[: inline.start()]) and _starts_quote(lines, i + 1):
            kept.append(line[: inline.start()].rstrip(" -"))
            seen_quote = True
            i += 1
            continue
        end = _attribution_end(lines, i)
        if end is not None:
            if _starts_quote(lines, end + 1):
                seen_quote = True
                i = end + 1
                continue
            if _strong(lines, i, end):
                _drop_rules(kept)
                break
        if _quoted(line):
            end = _quote_block_end(lines, i)
            if not seen_quote and _has_text(kept) and _has_text(lines[end:]):
                # ">>> http://… <<<" amid new text, nothing quoted above: not a quote.
                kept.extend(lines[i:end])
            seen_quote = True
            i = end
            continue
        kept.append(line)
        i += 1
    body = "\n".join(line.rstrip() for line in kept)
    return re.sub(r"\n{3,}", "\n\n", body).strip()


def _quoted(line):
    return line.lstrip().startswith(">")


def _has_text(lines):
    return any(line.strip() for line in lines)


def _quote_block_end(lines, i):
    """The line after the `>` block at i; a link wrapped out of a quoted line stays in it."""
    j = i
    while j < len(lines) and (_quoted(lines[j]) or _link_in_quote(lines, j)):
        j += 1
    return j


def _link_in_quote(lines, j):
    return j + 1 < len(lines) and _quoted(lines[j + 1]) and _wrapped_link(lines[j - 1], lines[j])


def _wrapped_link(previous, line):
    """A link the quoting program wrapped out of a `>` line: the quoted line opened "(http…"
    and this one closes it, or this one is a lone "(http://…) >" between `>` lines."""
    text = line.strip()
    unclosed = previous.count("(") > previous.count(")")
    if unclosed and " " not in text and ")" in text:
        return True
    return "://" in text and text.endswith(" >") and len(text.split()) <= 2


def _header_block(lines, i):
    """A From line or a Date/Sent line, with another header within the next four lines
    and a From line among them ("Date: …⏎From: …" is how some programs start)."""
    first = lines[i]
    if not (_FROM.match(first) or _DATE_HEADER.match(first)):
        return False
    window = [first] + [line for line in lines[i + 1 : i + 8] if line.strip()][:4]
    headers = [line for line in window if _FROM.match(line) or _HEADER.match(line)]
    if len(headers) < 2:
        return False
    # "From: Jane⏎To: Bob" may be the client's own note: two headers need an address.
    if len(headers) == 2 and "@" not in " ".join(window) and "mailto:" not in first:
        return bool(_DATE_HEADER.match(first) and re.search(r"\d:\d\d", first))
    # "Date: Wed, 16 May 2012 00:15:02 -0600⏎To: …" is a header; "Date: 12 May⏎To: the
    # bank" may be the client's own note: a date line needs a time of day.
    return any(_FROM.match(line) for line in window) or bool(re.search(r"\d:\d\d", first))


def _attribution_end(lines, i):
    """The last line of an attribution starting at line i, or None."""
    if not lines[i].strip() or lines[i].lstrip().startswith(">"):
        return None
    joined, count = "", 0
    for j in range(i, min(len(lines), i + _MAX_ATTRIBUTION_LINES + 3)):
        if not lines[j].strip():
            continue
        if j > i and lines[j].lstrip().startswith(">") and not _address_tail(lines[j]):
            return None
        joined = f"{joined} {lines[j].strip()}".strip()
        count += 1
        if len(joined) > _LONGEST or count > _MAX_ATTRIBUTION_LINES:
            return None
        if _is_attribution(joined) and (j == i or _may_continue(lines[i], joined)):
            return j
    return None


def _may_continue(first, joined):
    """A wrapped attribution starts like one ("On …", a date) and its first line is no
    sentence: "Call me on 0612.⏎The bank wrote:" keeps the client's line."""
    if first.rstrip().endswith((".", "!", "?")):
        return False
    return _STARTS.match(first) is not None and _SURE.search(joined) is not None


def _address_tail(line):
    """A wrapped `<address>` ends on the next line: "> wrote:" (Polymail), ">:" (Gmail)."""
    return re.match(rf"^\s*>\s*(?:(?:{_VERBS})\s*)?:\s*$", line, re.IGNORECASE) is not None


def _is_attribution(joined):
    return _strength(joined) is not None


def _strength(joined):
    """None (a sentence), "weak" (drop the line before `>` lines) or "strong" (sure enough to
    drop everything below it, even with no `>` marking the quote)."""
    lowered = joined.lower()
    if not any(clue in lowered for clue in _CLUES):
        return None  # the common case, decided before the costlier patterns
    if _DASHED_WROTE.match(joined) or _DATE_ONLY.match(joined) or _TIME_ADDRESS.match(joined):
        return "strong"
    if not _EVIDENCE.search(joined):
        return None
    sure = _SURE.search(joined) is not None
    if _VERB_THEN_NAME.match(joined):
        return "strong" if sure else "weak"
    match = _ATTRIBUTION.match(joined)
    if match is None:
        return None
    # "On …, Name <addr> wrote" without its colon is still sure: a sentence has no address.
    if match.group("lead") and sure and (joined.rstrip(" -").endswith(":") or "@" in joined):
        return "strong"
    return "weak"


def _strong(lines, i, end):
    joined = " ".join(line.strip() for line in lines[i : end + 1] if line.strip())
    return _strength(joined) == "strong"


def _starts_quote(lines, start):
    """The next non-blank line from `start` is a `>` line (or the email ends)."""
    for line in lines[start:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return True


def _drop_rules(kept):
    """Blank lines and ---- / ____ rules just above a header block belong to the quote."""
    while kept and (not kept[-1].strip() or _RULE.match(kept[-1])):
        kept.pop()
