"""`make run`: migrate, seed the demo on first run, then start every process with honcho."""

import os
import shutil
import sys

import click

from portal import config as settings
from portal.runtime import embedded_redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@click.group(invoke_without_command=True)
@click.pass_context
def main(ctx):
    """Start Portal Messaging: web, jobs, scheduler, mail-in (and an embedded Redis if needed)."""
    if ctx.invoked_subcommand is None:
        run()


def run():
    instance = settings.instance_path()
    os.makedirs(instance, exist_ok=True)
    env = dict(os.environ)
    # Children (the embedded Redis, workers) must agree on the instance folder.
    env["PORTAL_INSTANCE_PATH"] = instance
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("PORT", "5000")
    env.setdefault("PORTAL_BASE_URL", f"http://127.0.0.1:{env['PORT']}")
    processes = ["web", "worker", "cron", "mail-in"]
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = settings.default_redis_url(instance)
        processes.append("redis")
        click.echo(f"REDIS_URL is not set: starting an embedded Redis at {env['REDIS_URL']}")
    os.environ.update(env)
    prepare_database()
    honcho = shutil.which("honcho", path=env["PATH"])
    click.echo(f"Starting {', '.join(processes)} on http://127.0.0.1:{env['PORT']} (Ctrl-C stops)")
    os.execve(
        honcho,
        [
            honcho,
            "start",
            "--procfile",
            os.path.join(ROOT, "Procfile"),
            "--app-root",
            ROOT,
            "--port",
            env["PORT"],
            *processes,
        ],
        env,
    )


def prepare_database():
    """Apply migrations and seed the demo workspace when the database has no users."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.runtime.demo import DEMO_PASSWORD, seed_demo

    # Nothing serves yet (the embedded Redis starts with the processes): no live events to
    # announce while the demo is seeded.
    app = create_app({"LIVE_ANNOUNCE": False})
    with app.app_context():
        upgrade()
        people = seed_demo(only_if_empty=True)
        if people:
            click.echo(f"Seeded the demo workspace. Log in with password {DEMO_PASSWORD!r} as:")
            for user in people:
                if user.status == "active":
                    role = "admin" if user.is_admin else user.kind
                    click.echo(f"  {user.email:<22} {user.name} ({role})")


@main.command("redis")
def redis_command():
    """Run the embedded Redis in the foreground (used by the Procfile)."""
    instance = settings.instance_path()
    args = embedded_redis.server_args(settings.embedded_redis_socket(instance), instance)
    os.execv(args[0], args)


@main.command("mail-in")
def mail_in_command():
    """Receive replies by email over SMTP (used by the Procfile)."""
    from portal import create_app
    from portal.runtime.mail_in import serve

    serve(create_app())


@main.command("wait-redis")
@click.option("--timeout", default=30.0, show_default=True)
def wait_redis_command(timeout):
    """Wait until REDIS_URL answers (workers start after the embedded Redis)."""
    embedded_redis.wait_until_ready(os.environ["REDIS_URL"], timeout=timeout)


if __name__ == "__main__":
    main()
