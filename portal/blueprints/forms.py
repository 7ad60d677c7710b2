"""Forms shared by the workspace and the client portal."""

import secrets

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from portal.messaging.messages import BODY_MAX
from portal.models.rooms import ANNOUNCEMENT, CHAT, TITLE_MAX
from portal.models.users import NAME_MAX
from portal.web.inputs import coerce_id, parse_id


def new_client_msg_id():
    return secrets.token_urlsafe(16)


class MessageForm(FlaskForm):
    body = TextAreaField("Message", validators=[Length(max=BODY_MAX + 1000)])
    client_msg_id = HiddenField(default=new_client_msg_id)


class TitleForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give the conversation a title."),
            Length(max=TITLE_MAX, message=f"The title can be at most {TITLE_MAX} characters."),
        ],
    )


class ParticipantsField(SelectMultipleField):
    """Checkbox list of users; `choices` are set per request from who may be added."""

    def pre_validate(self, form):
        allowed = {value for value, _label in self.choices or []}
        if any(value not in allowed for value in self.data or []):
            raise ValidationError("Some of the selected people can't be added.")


#: The "Team only" checkbox: on New Conversation and Edit Participants.
TEAM_ONLY = "Team only"


class NewConversationForm(TitleForm):
    kind = RadioField(
        "Kind",
        choices=[
            SelectChoice(CHAT, "Chat room: everyone in it reads and writes"),
            SelectChoice(ANNOUNCEMENT, "Announcement: the team writes, clients read"),
        ],
        default=CHAT,
        validate_choice=False,  # an unknown kind is refused by the verb, in its words
    )
    team_only = BooleanField(TEAM_ONLY)
    participant_ids = ParticipantsField("Participants", coerce=coerce_id)
    new_client_name = StringField("New client's name", validators=[Length(max=NAME_MAX)])
    new_client_email = StringField("New client's email", validators=[Length(max=254)])


class ParticipantsForm(FlaskForm):
    participant_ids = ParticipantsField("Participants", coerce=coerce_id)
    team_only = BooleanField(TEAM_ONLY)
    # Who the form showed as participants: only the user's own changes are applied.
    shown_ids = HiddenField()

    def shown(self):
        """The ids the form was opened with, or None (an older form without the field)."""
        if self.shown_ids.data is None:
            return None
        return {parse_id(v) for v in self.shown_ids.data.split()} - {None}
