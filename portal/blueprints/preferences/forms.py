from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField


class NotificationSettingsForm(FlaskForm):
    email_notifications = BooleanField("Email me about unread messages")
    # Ids outside the user's own rooms are ignored by the domain verb, not an error.
    muted_room_ids = SelectMultipleField("Muted conversations", coerce=int, validate_choice=False)
