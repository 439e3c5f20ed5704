import pytest
from pydantic import BaseModel, Field, ValidationError
from titanium_common.fields import EMAIL, NO_NUL


class Sample(BaseModel):
    name: str = Field(pattern=NO_NUL)
    email: str = Field(pattern=EMAIL)


def test_ordinary_text_and_addresses_pass():
    assert Sample(name="Zoë <b>", email="zoe@example.org").name == "Zoë <b>"


@pytest.mark.parametrize(
    ("name", "email", "field"),
    [("a\x00b", "zoe@example.org", "name"), ("zoe", "zo\x00e@example.org", "email")],
)
def test_nul_is_refused_before_it_reaches_postgresql(name, email, field):
    with pytest.raises(ValidationError) as refused:
        Sample(name=name, email=email)
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]
