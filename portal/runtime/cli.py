"""Operator commands: `flask --app wsgi users create ...`, `flask --app wsgi seed-demo`."""

import click
from flask.cli import AppGroup, with_appcontext

from portal.extensions import db
from portal.models.users import CLIENT, KINDS
from portal.people.users import create_user

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--admin", is_flag=True, help="Make an admin (internal users only).")
@click.option("--all-rooms", is_flag=True, help='Give "Access to all chat rooms".')
@click.option("--password", help="Set a password: the account is active at once.")
def create_user_command(email, name, kind, admin, all_rooms, password):
    """Create an internal user or a client."""
    if kind == CLIENT and (admin or all_rooms):
        raise click.UsageError("--admin and --all-rooms are for internal users only.")
    try:
        user = create_user(
            email, name, kind, is_admin=admin, access_all_rooms=all_rooms, password=password
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.kind} user {user.email} (id {user.id}, {user.status}).")


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when any user exists.")
def seed_demo_command(if_empty):
    """Create the demo workspace and print its logins."""
    from portal.runtime.demo import DEMO_PASSWORD, seed_demo

    people = seed_demo(only_if_empty=if_empty)
    if people is None:
        click.echo("The database already has users: demo not seeded.")
        return
    click.echo(f"Demo workspace ready. Password for every active demo login: {DEMO_PASSWORD}")
    for user in people:
        click.echo(f"  {user.email:<28} {user.kind:<9} {user.status:<9} {user.name}")


def register_cli(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo_command)
