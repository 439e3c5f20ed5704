from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from titanium_common.fields import EMAIL, NO_NUL

USERNAME = Field(min_length=3, max_length=32, pattern=r"^[a-z0-9_]+$")


class PublicProfile(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    bio: str
    created_at: datetime


class OwnProfile(PublicProfile):
    email: str


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=80, pattern=NO_NUL)
    bio: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = USERNAME
    email: str = Field(max_length=254, pattern=EMAIL)
    password: str = Field(min_length=8, max_length=256)


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=256)


class VerifiedUser(BaseModel):
    id: int
    username: str
