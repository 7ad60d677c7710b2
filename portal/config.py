"""Settings from the environment: the one place configuration is read."""

import ipaddress
import os
import re
import secrets
from email.utils import formataddr, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

# Names that never resolve on the public internet (RFC 2606, RFC 6761): a PORTAL_BASE_URL on
# one of them, or on a loopback address, is local development.
_LOCAL_SUFFIXES = (".localhost", ".test", ".example", ".invalid", ".local")


def _int(name, default):
    return int(os.environ.get(name, default))


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _choice(name, default, allowed):
    value = os.environ.get(name, default).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}, not {value!r}")
    return value


def _networks(name, default):
    """A comma-separated list of IP addresses or networks, checked at start."""
    items = [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ValueError(f"{name}: {item!r} is not an IP address or network") from exc
    return items


def _accent(value):
    """PORTAL_ACCENT: a #rgb or #rrggbb colour (it is written into CSS and emails)."""
    if not re.fullmatch(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?", value):
        raise ValueError(f"PORTAL_ACCENT must be a colour like #2f5bd3, not {value!r}")
    return value.lower()


def instance_path():
    """The instance folder: `PORTAL_INSTANCE_PATH`, else `instance/` in the project."""
    configured = os.environ.get("PORTAL_INSTANCE_PATH")
    if configured:
        return str(Path(configured).resolve())
    return str(Path(__file__).resolve().parent.parent / "instance")


def embedded_redis_socket(instance):
    return os.path.join(instance, "redis.sock")


def default_redis_url(instance):
    return f"unix://{embedded_redis_socket(instance)}"


def _secret_key(instance):
    """`SECRET_KEY`, else one generated once into the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _vapid_private_key(instance):
    """`VAPID_PRIVATE_KEY` (PEM, or py_vapid's base64url DER), else a P-256 key generated
    once into the instance folder: the Web Push identity of this portal (RFC 8292)."""
    if os.environ.get("VAPID_PRIVATE_KEY"):
        return os.environ["VAPID_PRIVATE_KEY"].replace("\\n", "\n")
    path = Path(instance) / "vapid_private_key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first: use theirs
            return path.read_text()
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    return path.read_text()


#: Where browsers' push subscriptions live (Chrome, Edge, Firefox, Safari); "*." covers
#: subdomains (Edge's Windows Notification Service hosts are many).
KNOWN_PUSH_SERVICES = (
    "fcm.googleapis.com,android.googleapis.com,updates.push.services.mozilla.com,"
    "web.push.apple.com,*.notify.windows.com"
)


def _hosts(value):
    return tuple(host.strip().lower() for host in value.split(",") if host.strip())


def database_uri(url):
    """A DATABASE_URL as SQLAlchemy wants it: PostgreSQL through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def from_environment(instance):
    """Build the Flask config mapping for an app whose instance folder is `instance`."""
    database_url = database_uri(
        os.environ.get("DATABASE_URL") or f"sqlite:///{instance}/portal.sqlite3"
    )
    max_upload_mb = _int("MAX_UPLOAD_MB", 25)
    redis_url = os.environ.get("REDIS_URL") or default_redis_url(instance)
    portal_name = " ".join(os.environ.get("PORTAL_NAME", "").split()) or "Portal Messaging"
    return {
        "PORTAL_NAME": portal_name,
        "PORTAL_ACCENT": _accent(os.environ.get("PORTAL_ACCENT", "#2f5bd3")),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1)
        if redis_url.startswith("unix://")
        else redis_url,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        # None: no-reply@ the host of PORTAL_BASE_URL (default_sender), so that From,
        # Message-ID, Reply-To and List-Unsubscribe name one domain.
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER") or None,
        "MAIL_OUTBOX_DIR": os.path.join(instance, "outbox"),
        "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "CLIENT_NOTIFY_DELAY_SECONDS": _int("CLIENT_NOTIFY_DELAY_SECONDS", 600),
        "REMINDER_INTERVAL_SECONDS": _int("REMINDER_INTERVAL_SECONDS", 1800),
        # Daily and weekly recaps go out from this hour of the reader's own day (0-23).
        "RECAP_HOUR": _int("RECAP_HOUR", 8),
        # How often `rq cron` looks for client emails whose job was lost (Redis restarted).
        "CLIENT_EMAIL_SWEEP_SECONDS": _int("CLIENT_EMAIL_SWEEP_SECONDS", 60),
        # Rooms of one client falling due within this many seconds share one digest email.
        "CLIENT_DIGEST_WINDOW_SECONDS": _int("CLIENT_DIGEST_WINDOW_SECONDS", 60),
        # A pending email older than this (crash before send) is re-sent by the periodic sweep.
        "NOTIFY_RETRY_AFTER_SECONDS": _int("NOTIFY_RETRY_AFTER_SECONDS", 300),
        "NOTIFY_MAX_ATTEMPTS": _int("NOTIFY_MAX_ATTEMPTS", 5),
        "UNSUBSCRIBE_MAX_AGE_SECONDS": _int("UNSUBSCRIBE_MAX_AGE_SECONDS", 30 * 24 * 3600),
        # Audit rows older than this many days are deleted by the daily retention job.
        "AUDIT_RETENTION_DAYS": _int("AUDIT_RETENTION_DAYS", 400),
        "INVITATION_TTL_SECONDS": _int("INVITATION_TTL_SECONDS", 7 * 24 * 3600),
        "PASSWORD_RESET_TTL_SECONDS": _int("PASSWORD_RESET_TTL_SECONDS", 3600),
        # "Email me a login link": who may ask for one (everyone | staff | off), how long it works.
        "LOGIN_LINKS": os.environ.get("LOGIN_LINKS", "everyone").strip().lower(),
        "LOGIN_LINK_TTL_SECONDS": _int("LOGIN_LINK_TTL_SECONDS", 15 * 60),
        "SSE_HEARTBEAT_SECONDS": _int("SSE_HEARTBEAT_SECONDS", 15),
        # Web Push (docs/reach.md): a message still unread this long after it was sent is
        # pushed to a person holding no stream, on their subscribed browsers.
        "PUSH_DELAY_SECONDS": _int("PUSH_DELAY_SECONDS", 30),
        # The only endpoints the server POSTs to: https on these hosts ("*.domain": its
        # subdomains; "http://host:port": plain http to that one host, for development).
        "PUSH_ENDPOINT_HOSTS": _hosts(os.environ.get("PUSH_ENDPOINT_HOSTS", KNOWN_PUSH_SERVICES)),
        # Connect and read timeouts of one push request (a slow service never holds a worker).
        "PUSH_TIMEOUT_SECONDS": float(os.environ.get("PUSH_TIMEOUT_SECONDS", 5)),
        # How long a push service keeps a push for a device that is offline.
        "PUSH_TTL_SECONDS": _int("PUSH_TTL_SECONDS", 12 * 3600),
        "VAPID_PRIVATE_KEY": _vapid_private_key(instance),
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT") or None,
        # Open streams per user in one web process; beyond it the oldest ends.
        "SSE_MAX_STREAMS_PER_USER": _int("SSE_MAX_STREAMS_PER_USER", 10),
        # Live events: channels are "<prefix>user.<id>"; default prefix from the database URL.
        "SSE_CHANNEL_PREFIX": os.environ.get("SSE_CHANNEL_PREFIX") or None,
        # Throttling (Flask-Limiter, counted in Redis); limits are "N per period" strings.
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_SWALLOW_ERRORS": _bool("RATELIMIT_SWALLOW_ERRORS", True),
        "LOGIN_FAILURE_LIMIT": os.environ.get("LOGIN_FAILURE_LIMIT", "10 per 5 minutes"),
        "LOGIN_FAILURE_IP_LIMIT": os.environ.get("LOGIN_FAILURE_IP_LIMIT", "50 per 5 minutes"),
        # Wrong current passwords at /password/change before that session is ended.
        "PASSWORD_CHANGE_MAX_FAILURES": _int("PASSWORD_CHANGE_MAX_FAILURES", 5),
        "PASSWORD_FORGOT_LIMIT": os.environ.get("PASSWORD_FORGOT_LIMIT", "5 per 15 minutes"),
        "PASSWORD_FORGOT_IP_LIMIT": os.environ.get("PASSWORD_FORGOT_IP_LIMIT", "20 per hour"),
        "LOGIN_LINK_LIMIT": os.environ.get("LOGIN_LINK_LIMIT", "5 per 15 minutes"),
        "LOGIN_LINK_IP_LIMIT": os.environ.get("LOGIN_LINK_IP_LIMIT", "20 per hour"),
        # Threads per web process hashing passwords (scrypt, ~120 ms each) off the event loop.
        "PASSWORD_HASH_THREADS": _int("PASSWORD_HASH_THREADS", 2),
        "INVITE_LIMIT": os.environ.get("INVITE_LIMIT", "50 per hour"),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or os.path.join(instance, "uploads"),
        "MAX_UPLOAD_MB": max_upload_mb,
        # Stored files: "local" (UPLOAD_DIR) or "s3" (an S3-compatible bucket).
        "STORAGE_BACKEND": os.environ.get("STORAGE_BACKEND", "local").strip().lower(),
        "S3_BUCKET": os.environ.get("S3_BUCKET") or None,
        "S3_PREFIX": os.environ.get("S3_PREFIX", ""),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": os.environ.get("S3_REGION") or None,
        "S3_ACCESS_KEY_ID": os.environ.get("S3_ACCESS_KEY_ID") or None,
        "S3_SECRET_ACCESS_KEY": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
        "MAX_FILES_PER_MESSAGE": 10,
        # Image processing at once: per web process, and per user across processes.
        "IMAGE_WORKERS_PER_PROCESS": _int("IMAGE_WORKERS_PER_PROCESS", 2),
        "IMAGE_UPLOADS_PER_USER": _int("IMAGE_UPLOADS_PER_USER", 2),
        "IMAGE_WAIT_SECONDS": _int("IMAGE_WAIT_SECONDS", 30),
        # Whole request: ten files at the limit plus room for the text fields.
        "MAX_CONTENT_LENGTH": (max_upload_mb * 10 + 1) * 1024 * 1024,
        # Bodies of requests other than uploads: logged in, and without a login session.
        "FORM_MAX_BODY_KB": _int("FORM_MAX_BODY_KB", 256),
        "ANONYMOUS_MAX_BODY_KB": _int("ANONYMOUS_MAX_BODY_KB", 16),
        # Total size of all stored files in MB (0: no quota).
        "STORAGE_QUOTA_MB": _int("STORAGE_QUOTA_MB", 0),
        # Messages one user may post (over the web). Shaped for people: a burst of short
        # replies ("ok", "thx") stays under the first limit, a script meets the second.
        "MESSAGE_LIMIT": os.environ.get("MESSAGE_LIMIT", "60 per minute; 600 per hour"),
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "portal"),
        # Reply by email: the mail-in process and the address in notification Reply-To headers.
        "INBOUND_SMTP_HOST": os.environ.get("INBOUND_SMTP_HOST", "127.0.0.1"),
        "INBOUND_SMTP_PORT": _int("INBOUND_SMTP_PORT", 2525),
        # None: the host of PORTAL_BASE_URL (portal.notify.replies.reply_domain).
        "REPLY_DOMAIN": os.environ.get("REPLY_DOMAIN") or None,
        "REPLY_TOKEN_MAX_AGE_SECONDS": _int("REPLY_TOKEN_MAX_AGE_SECONDS", 90 * 24 * 3600),
        # Shared secret for POST /inbound/email; unset turns the endpoint off (404).
        "INBOUND_EMAIL_SECRET": os.environ.get("INBOUND_EMAIL_SECRET") or None,
        "INBOUND_MAX_BYTES": max_upload_mb * 10 * 1024 * 1024,
        # Replies whose sender DKIM or a trusted MTA cannot confirm: "hold" them for the
        # person to post from a link sent to their own address, or "post" them anyway.
        "INBOUND_UNCONFIRMED": _choice("INBOUND_UNCONFIRMED", "hold", {"hold", "post"}),
        # The authserv-id of the upstream MTA whose Authentication-Results are believed, and
        # the addresses it connects from (mail-in reads the header only from those).
        "INBOUND_TRUSTED_MTA": os.environ.get("INBOUND_TRUSTED_MTA") or None,
        "INBOUND_TRUSTED_MTA_IPS": _networks("INBOUND_TRUSTED_MTA_IPS", "127.0.0.1,::1"),
        "HELD_REPLY_MAX_AGE_SECONDS": _int("HELD_REPLY_MAX_AGE_SECONDS", 7 * 24 * 3600),
        # Longest line mail-in takes in a message (RFC 5321 says 1,000; Outlook writes more).
        "INBOUND_MAX_LINE_OCTETS": _int("INBOUND_MAX_LINE_OCTETS", 65536),
        # Server-side login sessions: at most this old, and ended after this long unused.
        "SESSION_LIFETIME_HOURS": _int("SESSION_LIFETIME_HOURS", 30 * 24),
        "SESSION_IDLE_HOURS": _int("SESSION_IDLE_HOURS", 7 * 24),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # While the database is unreachable, pages answer 503 with this Retry-After.
        "UNAVAILABLE_RETRY_AFTER_SECONDS": _int("UNAVAILABLE_RETRY_AFTER_SECONDS", 30),
        # Forwarded headers count only from these addresses or networks (comma-separated).
        "TRUSTED_PROXY_IPS": os.environ.get("TRUSTED_PROXY_IPS", "127.0.0.1,::1"),
        "WTF_CSRF_TIME_LIMIT": None,
        # A pooled connection idle this long is pinged before use (portal/infra/connections.py).
        "DATABASE_IDLE_PING_SECONDS": _int("DATABASE_IDLE_PING_SECONDS", 5),
        # PostgreSQL connections each web process keeps open, and how many more at a peak.
        "DATABASE_POOL_SIZE": _int("DATABASE_POOL_SIZE", 10),
        "DATABASE_POOL_OVERFLOW": _int("DATABASE_POOL_OVERFLOW", 5),
    }


def base_host(settings):
    """The host name of PORTAL_BASE_URL, lower-cased."""
    return (urlsplit(settings["PORTAL_BASE_URL"]).hostname or "localhost").lower()


def is_local_host(host):
    """True for loopback addresses and names reserved for testing and local networks."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host.endswith(_LOCAL_SUFFIXES)


def default_sender(settings):
    """MAIL_DEFAULT_SENDER, else the portal's name at no-reply@ the PORTAL_BASE_URL host."""
    if settings.get("MAIL_DEFAULT_SENDER"):
        return settings["MAIL_DEFAULT_SENDER"]
    host = base_host(settings)
    try:
        ipaddress.ip_address(host)
        host = "localhost"  # an address literal is no mail domain
    except ValueError:
        pass
    return formataddr((settings["PORTAL_NAME"], f"no-reply@{host}"))


def sender_domain(settings):
    """The domain of the sender's address: Message-IDs are made on it."""
    return parseaddr(default_sender(settings))[1].rpartition("@")[2].lower() or "localhost"


def _organisation(domain):
    """The registrable part of a domain, roughly: its last two labels (three under co.uk…)."""
    labels = domain.split(".")
    keep = 3 if len(labels) > 2 and len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 2
    return ".".join(labels[-keep:])


def deployment_warnings(settings):
    """What a deployment outside local development gets wrong about email, in plain words."""
    host = base_host(settings)
    if is_local_host(host):
        return []
    warnings = []
    if urlsplit(settings["PORTAL_BASE_URL"]).scheme != "https":
        warnings.append(
            f"PORTAL_BASE_URL ({settings['PORTAL_BASE_URL']}) is not https: links and "
            "one-click unsubscribe in emails go out over plain http"
        )
    domain = sender_domain(settings)
    if _organisation(domain) != _organisation(host):
        warnings.append(
            f"MAIL_DEFAULT_SENDER's domain ({domain}) is not the domain of PORTAL_BASE_URL "
            f"({host}): From, Message-ID and List-Unsubscribe will not align"
        )
    return warnings
