from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, ValidationError

from portal.people.time_zones import is_zone, zone_names
from portal.web.inputs import coerce_id


def _known_zone(_form, field):
    # Left out of the form (an older page): the saved zone stays.
    if field.data and not is_zone(field.data):
        raise ValidationError("Choose a time zone from the list.")


FREQUENCIES = [
    ("reminders", "As they come (a reminder about unread messages)"),
    ("daily", "A daily recap"),
    ("weekly", "A weekly recap, on Mondays"),
]


def _known_frequency(form, field):
    # Left out of the form (a client's page, an older page): the saved choice stays.
    if field.data and field.data not in {value for value, _label in field.choices}:
        raise ValidationError("Choose how often from the list.")


class NotificationSettingsForm(FlaskForm):
    email_notifications = BooleanField("Email me about unread messages")
    # Ids outside the user's own rooms are ignored by the domain verb, not an error.
    muted_room_ids = SelectMultipleField(
        "Muted conversations", coerce=coerce_id, validate_choice=False
    )
    # Internal users only (the page shows them only to them; clients' posts are ignored).
    frequency = RadioField(
        "How often", choices=FREQUENCIES, validate_choice=False, validators=[_known_frequency]
    )
    mentions_only_room_ids = SelectMultipleField(
        "Only when I'm mentioned", coerce=coerce_id, validate_choice=False
    )
    time_zone = SelectField(
        "Time zone",
        choices=lambda: zone_names(),
        validate_choice=False,
        validators=[_known_zone],
        description="Times in your emails, and on pages when JavaScript is off, use this zone.",
    )
