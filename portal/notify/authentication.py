"""Is a reply really from the address in its From? What mail-in can check, and nothing more.

A reply address alone is a bearer secret that lives in mailboxes for 90 days, so a forged
`From` with a valid address must not post. A sender is confirmed by either
- a valid DKIM signature (dkimpy; keys looked up in DNS) whose `d=` domain aligns with the
  From domain, signs the From header and covers the whole body (no `l=`); or
- the `Authentication-Results` header of the upstream MTA named by `INBOUND_TRUSTED_MTA`
  (its authserv-id), read only when the email came from that MTA (an address in
  `INBOUND_TRUSTED_MTA_IPS`, or a provider over `POST /inbound/email` with the shared
  secret): `dmarc=pass` for the From domain, or an aligned `dkim=pass` or `spf=pass`.
Anything else is unconfirmed, and the reply is held for the person to post themselves.
"""

import ipaddress
import logging
from dataclasses import dataclass
from email.utils import getaddresses

import authres
import dkim
from dkim import dnsplug

log = logging.getLogger("portal.mail_in")
# Signatures checked per email: each costs a DNS lookup and an RSA verification.
MAX_SIGNATURES = 5


@dataclass(frozen=True)
class Verdict:
    """Whether the sender is confirmed, and by what (or why not) in words for the logs."""

    confirmed: bool
    how: str


def dns_txt(name, timeout=5):
    """The TXT record at `name` (a DKIM key), through dkimpy's dnspython lookup."""
    return dnsplug.get_txt(name, timeout=timeout)


def _lookup(name, timeout=5):
    # Resolved at call time, so a test can replace `dns_txt` with the answers it wants.
    return dns_txt(name, timeout=timeout)


def from_address(message):
    """The one From address, lower-cased; None when there is not exactly one."""
    values = [str(v) for v in message.get_all("From") or ()]
    addresses = [address.strip().lower() for _name, address in getaddresses(values) if address]
    if len(addresses) != 1 or "@" not in addresses[0]:
        return None
    return addresses[0]


def aligned(domain, author_domain):
    """Relaxed alignment: the same domain, or the author's is a subdomain of it (never of a
    bare public suffix such as `co.uk`: the signer must own at least two labels of its own)."""
    domain = (domain or "").strip().rstrip(".").lower()
    if not domain or not author_domain:
        return False
    if domain == author_domain:
        return True
    labels = domain.split(".")
    suffix_like = len(labels) == 2 and len(labels[-1]) == 2 and len(labels[0]) <= 3
    return len(labels) >= 2 and not suffix_like and author_domain.endswith("." + domain)


def trusted_peer(address, trusted):
    """True when `address` (the SMTP client's IP) is one of the `trusted` addresses/networks."""
    try:
        ip = ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return False
    # A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return any(ip in ipaddress.ip_network(net, strict=False) for net in trusted)


def confirm_sender(raw, message, person_email, trusted_mta=None):
    """Whether the email is confirmed as from `person_email`; `trusted_mta` is the
    authserv-id whose Authentication-Results to believe, if any."""
    author = from_address(message)
    if author is None:
        return Verdict(False, "the email does not have exactly one From address")
    if author != person_email.strip().lower():
        # The envelope sender matched, but a signature would vouch for someone else.
        return Verdict(False, "the From address is not the person's")
    author_domain = author.rpartition("@")[2].rstrip(".")
    for domain in _dkim_domains(raw):
        if aligned(domain, author_domain):
            return Verdict(True, f"DKIM signature of {domain}")
    if trusted_mta:
        verdict = _authentication_results(message, trusted_mta, author_domain)
        if verdict is not None:
            return verdict
    return Verdict(False, f"no valid DKIM signature of {author_domain} and no trusted result")


def _dkim_domains(raw):
    """The d= domains of the DKIM signatures that verify, sign From and cover the whole body."""
    try:
        checker = dkim.DKIM(raw, minkey=1024, timeout=5)
    except Exception as exc:  # a message dkimpy cannot even split is simply unsigned
        log.info("mail-in: DKIM could not read the email: %s", exc)
        return
    count = sum(1 for name, _value in checker.headers if name.lower() == b"dkim-signature")
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            valid = checker.verify(idx=index, dnsfunc=_lookup)
        except Exception as exc:  # bad key, bad record, DNS failure: this signature proves nothing
            log.info("mail-in: DKIM signature %d not verified: %s", index, exc)
            continue
        fields = checker.signature_fields
        signed = [h.strip().lower() for h in fields.get(b"h", b"").split(b":")]
        if valid and b"l" not in fields and b"from" in signed:
            yield checker.domain.decode("ascii", "replace")


def _authentication_results(message, trusted_mta, author_domain):
    """A confirming Verdict from the trusted MTA's own Authentication-Results, else None."""
    for value in message.get_all("Authentication-Results") or ():
        try:
            header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
        except Exception as exc:  # a malformed header (ours or a forger's) confirms nothing
            log.info("mail-in: unreadable Authentication-Results: %s", exc)
            continue
        if (header.authserv_id or "").lower() != trusted_mta.lower():
            continue
        for result in header.results:
            if result.result != "pass":
                continue
            found = {(p.type, p.name): p.value for p in result.properties}
            if result.method == "dmarc" and found.get(("header", "from"), "").lower() == (
                author_domain
            ):
                return Verdict(True, f"{trusted_mta}: dmarc=pass")
            if result.method == "dkim" and aligned(found.get(("header", "d")), author_domain):
                return Verdict(True, f"{trusted_mta}: dkim=pass")
            mailfrom = found.get(("smtp", "mailfrom"), "").rpartition("@")[2]
            if result.method == "spf" and aligned(mailfrom, author_domain):
                return Verdict(True, f"{trusted_mta}: spf=pass")
    return None
