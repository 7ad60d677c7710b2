"""What a reply email posts: every new line, no quoted line, per attribution family and
language (the README's: en, de, fr, es, it, nl, pl, sv, da, cs), top- and bottom-posted.

The corpus figures come from bench/reply_corpus.py; these cases are written for the portal.
"""

from email.message import EmailMessage

import pytest

from portal.notify.reply_text import reply_text

NEW = (
    "Here is what I still need to send you:\n"
    "- the signed contract\n"
    "- invoice 4471\n"
    "-250 EUR is still open, see below.\n"
    "\n"
    "Cleo"
)
QUOTE = "> Your tax return is ready to sign.\n> Please check page 2.\n>\n> Sam Staff"
UNMARKED = "Your tax return is ready to sign.\nPlease check page 2.\n\nSam Staff"

# Attribution lines that are followed by a `>` quote (top- and bottom-posted).
ATTRIBUTIONS = {
    "en one line": "On Thu, Nov 26, 2026 at 11:00 AM Sam Staff <sam@firm.example> wrote:",
    "en two lines": "On Thu, Nov 26, 2026 at 11:00 AM Sam Staff <\nsam@firm.example> wrote:",
    "en three lines": "On Thu, Nov 26, 2026 at 11:00 AM,\nSam Staff <sam@firm.example>\nwrote:",
    "en wrote without colon": "On Nov 26, 2026, at 11:00, Sam Staff <sam@firm.example> wrote",
    "en Apple": "On 26 Nov 2026, at 11:00, Sam Staff <sam@firm.example> wrote:",
    "Yahoo": "--- On Thu, 11/26/26, Sam Staff <sam@firm.example> wrote:",
    "Zoho": "---- On Thu, 26 Nov 2026 11:00:00 +0100 Sam Staff <sam@firm.example> wrote ----",
    "Android": "---- Sam Staff wrote ----",
    "Gmail date only": "2026-11-26 11:00 GMT+01:00 Sam Staff <sam@firm.example>:",
    "Gmail date only, wrapped": "2026-11-26 11:00 GMT+01:00 Sam Staff <\nsam@firm.example>:",
    "Apple date only": "2026/11/26 Sam Staff <sam@firm.example>",
    "de": "Am Do., 26. Nov. 2026 um 11:00 Uhr schrieb Sam Staff <sam@firm.example>:",
    "fr": "Le jeu. 26 nov. 2026 à 11:00, Sam Staff <sam@firm.example> a écrit :",
    "es": "El jue, 26 nov 2026 a las 11:00, Sam Staff (<sam@firm.example>) escribió:",
    "it In data": "In data 26 novembre 2026 11:00, Sam Staff <sam@firm.example> ha scritto:",
    "it Il giorno": "Il giorno gio 26 nov 2026 alle ore 11:00 Sam Staff <sam@firm.example> ha "
    "scritto:",
    "nl schreef": "Op do 26 nov. 2026 om 11:00 schreef Sam Staff <sam@firm.example>:",
    "nl Apple": "Op 26 nov. 2026 om 11:00 heeft Sam Staff <sam@firm.example> het volgende "
    "geschreven:",
    "pl napisał": "W dniu 26.11.2026 o 11:00, Sam Staff <sam@firm.example> napisał:",
    "pl Gmail": "W dniu czw., 26 lis 2026 o 11:00 Sam Staff <sam@firm.example> napisał(a):",
    "pl Thunderbird": "W dniu 26.11.2026 o 11:00, Sam Staff pisze:",
    "sv": "Den tors 26 nov. 2026 kl 11:00 skrev Sam Staff <sam@firm.example>:",
    "da": "Den tor. 26. nov. 2026 kl. 11.00 skrev Sam Staff <sam@firm.example>:",
    "cs": "Dne čt 26. 11. 2026 11:00 uživatel Sam Staff <sam@firm.example> napsal:",
    "fi weekday first": "to 26. marraskuuta 2026 klo 11.00 Sam Staff\n<sam@firm.example> "
    "kirjoitti:",
    "no Gmail, address wrapped": "tor. 26. nov. 2026 kl. 11:00 skrev Sam Staff "
    "<sam@firm.example\n>:",
}

# Blocks after which the rest of the email is the (unmarked) original: Outlook and co.
HEADER_BLOCKS = {
    "Outlook en": "________________________________\nFrom: Sam Staff <sam@firm.example>\n"
    "Sent: Thursday, November 26, 2026 11:00 AM\nTo: Cleo Client\nSubject: Your tax return",
    "Outlook bold": "*From:* Sam Staff [mailto:sam@firm.example]\n*Sent:* Thursday, "
    "November 26, 2026 11:00 AM\n*To:* Cleo Client\n*Subject:* Your tax return",
    "Original Message": "-----Original Message-----\nFrom: Sam Staff <sam@firm.example>\n"
    "Sent: Thursday, November 26, 2026 11:00 AM",
    "fr Outlook": "De : Sam Staff <sam@firm.example>\nEnvoyé le : jeudi 26 novembre 2026 "
    "11:00\nÀ : Cleo Client <client@example.test>\nObjet : Votre déclaration",
    "fr Message d'origine": "-------- Message d'origine --------\nDe : Sam Staff "
    "<sam@firm.example>\nDate : 26/11/2026 11:00",
    "de Outlook": "Von: Sam Staff <sam@firm.example>\nGesendet: Donnerstag, 26. November "
    "2026 11:00\nAn: Cleo Client\nBetreff: Ihre Steuererklärung",
    "de Ursprüngliche Nachricht": "----- Ursprüngliche Nachricht -----\nVon: Sam Staff",
    "nl Outlook": "Van: Sam Staff <sam@firm.example>\nVerzonden: donderdag 26 november 2026 "
    "11:00\nAan: Cleo Client\nOnderwerp: Uw aangifte",
    "it Outlook": "Da: Sam Staff <sam@firm.example>\nInviato: giovedì 26 novembre 2026 11:00\n"
    "A: Cleo Client\nOggetto: La sua dichiarazione",
    "es Outlook": "De: Sam Staff <sam@firm.example>\nEnviado: jueves, 26 de noviembre de 2026 "
    "11:00\nPara: Cleo Client\nAsunto: Su declaración",
    "pl Outlook": "Od: Sam Staff <sam@firm.example>\nWysłano: czwartek, 26 listopada 2026 "
    "11:00\nDo: Cleo Client\nTemat: Zeznanie",
    "sv Outlook": "Från: Sam Staff <sam@firm.example>\nSkickat: den 26 november 2026 11:00\n"
    "Till: Cleo Client\nÄmne: Deklaration",
    "date first": "Date: Thu, 26 Nov 2026 11:00:00 +0100\nTo: client@example.test",
    "fr Message du": '====\n\nMessage du : 26/11/2026 11:00\nDe : "Sam Staff" '
    "<sam@firm.example>\nA : client@example.test\nSujet : Votre déclaration",
    "da Oprindelig besked": "-------- Oprindelig besked --------\nFra: Sam Staff",
    "es Outlook Enviado el": "De: Sam Staff <sam@firm.example>\nEnviado el: jueves, 26 de "
    "noviembre de 2026 11:00\nPara: Cleo Client\nAsunto: Su declaración",
}


def email_with(text, subtype="plain"):
    email = EmailMessage()
    email["From"] = "Cleo Client <client@example.test>"
    email["Subject"] = "Re: Your tax return"
    email.set_content(text, subtype=subtype)
    return email


@pytest.mark.parametrize("attribution", ATTRIBUTIONS.values(), ids=ATTRIBUTIONS.keys())
def test_top_posted_reply_keeps_every_new_line_and_no_quote(attribution):
    assert reply_text(email_with(f"{NEW}\n\n{attribution}\n{QUOTE}\n")) == NEW


@pytest.mark.parametrize("attribution", ATTRIBUTIONS.values(), ids=ATTRIBUTIONS.keys())
def test_bottom_posted_reply_keeps_the_text_below_the_quote(attribution):
    assert reply_text(email_with(f"{attribution}\n{QUOTE}\n\n{NEW}\n")) == NEW


# Without `>` below, only a sure attribution (a date or time, and a colon or an address)
# drops everything under it; the others are only dropped as lines above a `>` quote.
UNSURE = {
    "en wrote, no colon, no address": "On Nov 26, 2026, at 11:00, Sam Staff wrote",
    "Sent from … wrote:": "Sent from Samsung Mobile Sam Staff <sam@firm.example> wrote:",
}
SURE = {name: a for name, a in ATTRIBUTIONS.items() if name not in UNSURE}


@pytest.mark.parametrize("attribution", SURE.values(), ids=SURE.keys())
def test_an_attribution_with_an_unmarked_quote_below_drops_the_rest(attribution):
    assert reply_text(email_with(f"{NEW}\n\n{attribution}\n\n{UNMARKED}\n")) == NEW


@pytest.mark.parametrize("attribution", UNSURE.values(), ids=UNSURE.keys())
def test_an_unsure_attribution_is_dropped_above_a_quote_and_kept_otherwise(attribution):
    assert reply_text(email_with(f"{NEW}\n\n{attribution}\n{QUOTE}\n")) == NEW
    text = f"{NEW}\n\n{attribution}\n\n{UNMARKED}"
    assert reply_text(email_with(text)) == text


@pytest.mark.parametrize("block", HEADER_BLOCKS.values(), ids=HEADER_BLOCKS.keys())
def test_header_blocks_drop_the_unmarked_original_below(block):
    assert reply_text(email_with(f"{NEW}\n\n{block}\n\n{UNMARKED}\n")) == NEW


def test_thunderbird_bottom_post_without_attribution():
    assert reply_text(email_with("> Hi\n> Sam\nHello, the form is attached.\n")) == (
        "Hello, the form is attached."
    )


def test_interleaved_answers_are_all_kept():
    text = (
        "On Thu, Nov 26, 2026 at 11:00 AM Sam Staff <sam@firm.example> wrote:\n"
        "> Can you sign page 2?\n\nYes, done.\n\n> And send the bank statement?\n\n"
        "Attached.\n\n> Sam\n"
    )
    assert reply_text(email_with(text)) == "Yes, done.\n\nAttached."


def test_reply_sharing_a_line_with_the_attribution():
    text = "Signed! On Thu, Nov 26, 2026 at 11:00 AM, sam@firm.example wrote:\n> Sign it\n"
    assert reply_text(email_with(text)) == "Signed!"


@pytest.mark.parametrize(
    "text",
    [
        NEW,
        "On Monday my accountant wrote to me about the 2026 return.\nIs that fine?",
        "On 3 May the bank wrote:\nplease pay the rest by Friday.\n\nWhat do I do?",
        "Call me on 0612345678.\nMy adviser wrote: it is fine.",
        "On 12 May 2025 the tax office sent:\n- the assessment\n- a letter\n\nWhat now?",
        "2026 forms are signed\nas Sam wrote:\nall good",
        "From: Jane\nTo: Bob\nThe note I found in the file.",
        "Original message\nis what I sent you on Monday.",
        "Note for you\nDate: 12 May\nTo: the bank\nAmount: 250 EUR",
        "Visit us now\n>>> http://www.example.com <<<\nthe link above",
        "-- \nCleo Client\nSent from my iPhone",
        "---------- Forwarded message ----------\nFrom: Bank <bank@example.test>\n"
        "Date: Thu, 26 Nov 2026 at 11:00\nSubject: Statement\n\nYour statement is ready.",
    ],
    ids=[
        "hyphen list and amount",
        "On … wrote in a sentence",
        "On <date> … wrote: without address or time",
        "a sentence then … wrote:",
        "On <date with year> … sent: then a list",
        "a line with a year, then … wrote:",
        "From:/To: without an address",
        "Original message without dashes",
        "Date:/To: without a time",
        "> inside new text",
        "signature",
        "forwarded message",
    ],
)
def test_when_unsure_the_text_is_kept(text):
    assert reply_text(email_with(text)) == "\n".join(line.rstrip() for line in text.split("\n"))


def test_only_a_quote_posts_nothing():
    assert reply_text(email_with(f"{ATTRIBUTIONS['en one line']}\n{QUOTE}\n")) == ""


HTML_NEW = "<p>Here is what I still need to send you:</p><ul><li>the signed contract</li></ul>"
HTML_QUOTES = {
    "Gmail": '<div class="gmail_quote"><div class="gmail_attr">On Thu, Nov 26, 2026 at '
    "11:00 AM Sam Staff &lt;sam@firm.example&gt; wrote:<br></div><blockquote "
    'class="gmail_quote">Your tax return is ready</blockquote></div>',
    "Thunderbird": '<div class="moz-cite-prefix">On 26/11/2026 11:00, Sam Staff wrote:<br>'
    '</div><blockquote type="cite">Your tax return is ready</blockquote>',
    "Outlook web": '<div id="appendonsend"></div><hr style="display:inline-block">'
    '<div id="divRplyFwdMsg"><b>From:</b> Sam Staff<br><b>Sent:</b> Thursday<br></div>'
    "<div>Your tax return is ready</div>",
    "Outlook Mac": '<span id="OLK_SRC_BODY_SECTION"><div><b>From: </b>Sam Staff<br>'
    "<b>Date: </b>Thursday<br></div><div>Your tax return is ready</div></span>",
    "Apple": '<blockquote type="cite"><div>On 26 Nov 2026, at 11:00, Sam Staff '
    "&lt;sam@firm.example&gt; wrote:</div><div>Your tax return is ready</div></blockquote>",
    "Yahoo": '<div class="yahoo_quoted"><div>On Thursday, 26 November 2026, 11:00, Sam '
    "Staff wrote:</div><div>Your tax return is ready</div></div>",
}


@pytest.mark.parametrize("quote", HTML_QUOTES.values(), ids=HTML_QUOTES.keys())
def test_html_only_reply_drops_the_quote_elements(quote):
    text = reply_text(email_with(f"<html><body>{HTML_NEW}{quote}</body></html>", "html"))
    assert "Here is what I still need to send you:" in text
    assert "the signed contract" in text
    assert "ready" not in text and "Sam Staff" not in text and "<" not in text


def test_the_plain_part_is_preferred_when_both_are_sent():
    email = email_with(f"{NEW}\n\n{ATTRIBUTIONS['en one line']}\n{QUOTE}\n")
    email.add_alternative(f"<p>{NEW}</p>{HTML_QUOTES['Gmail']}", subtype="html")
    assert reply_text(email) == NEW


def test_a_sentence_above_a_quote_is_not_taken_for_a_wrapped_attribution():
    text = "2026 forms are signed\nas Sam wrote to me\n> Please sign the 2026 forms\n"
    assert reply_text(email_with(text)) == "2026 forms are signed\nas Sam wrote to me"
    # No date, time or address: the client's own words, kept (the quote below goes).
    text = "Signed on 12 May 2026\nOn Monday Sam wrote:\n> Please sign\n"
    assert reply_text(email_with(text)) == "Signed on 12 May 2026\nOn Monday Sam wrote:"
