from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

KIND_CHOICES = [SelectChoice("internal", "Internal user (staff)"), SelectChoice("client", "Client")]


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = RadioField("Kind", choices=KIND_CHOICES, default="client")


class EditUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    is_admin = BooleanField("Admin")
    access_all_rooms = BooleanField("Access to all chat rooms")
    active = BooleanField("Active")
