import pytest
from django.core.exceptions import ValidationError

from releases import services


def test_it_refuses_a_cycle_naming_it(make_release, manager):
    a, b, c = make_release(name="A"), make_release(name="B"), make_release(name="C")
    services.dependency_create(actor=manager, release=a, depends_on=b)
    services.dependency_create(actor=manager, release=b, depends_on=c)
    with pytest.raises(ValidationError) as err:
        services.dependency_create(actor=manager, release=c, depends_on=a)
    assert "C → A → B → C" in err.value.message_dict["depends_on"][0]
