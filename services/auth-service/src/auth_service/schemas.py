from pydantic import BaseModel, ConfigDict, Field
from titanium_common.fields import EMAIL, NO_NUL


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=32, pattern=r"^[a-z0-9_]+$")
    email: str = Field(max_length=254, pattern=EMAIL)
    password: str = Field(min_length=8, max_length=256)


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105  the OAuth token type, not a secret
    expires_in: int


class RegisteredUser(BaseModel):
    id: int
    username: str
    email: str
