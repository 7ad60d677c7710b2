from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.models.users import CLIENT, INTERNAL, NAME_MAX

KIND_CHOICES = [SelectChoice(INTERNAL, "Internal user (staff)"), SelectChoice(CLIENT, "Client")]


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=NAME_MAX)])
    kind = RadioField("Kind", choices=KIND_CHOICES, default=CLIENT)


class EditUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=NAME_MAX)])
    is_admin = BooleanField("Admin")
    access_all_rooms = BooleanField("Access to all chat rooms")
    active = BooleanField("Active")


LOGIN_LINKS = [
    ("everyone", "Everyone may log in with an emailed link"),
    ("staff", "Only internal users (clients use their password)"),
    ("off", "Nobody: passwords only"),
]


class PortalForm(FlaskForm):
    """Settings → Client portal: the firm's name and accent colour (checked by the verb)."""

    portal_name = StringField("Firm name", validators=[Length(max=200)])
    accent_colour = StringField("Accent colour", validators=[Length(max=20)])
    sidebar_colour = StringField("Sidebar colour", validators=[Length(max=20)])
    # Checked by the settings verb, with its message.
    login_links = RadioField("Login links", choices=LOGIN_LINKS, validate_choice=False)
    logo = FileField("Logo")
    remove_logo = BooleanField("Remove the logo")
