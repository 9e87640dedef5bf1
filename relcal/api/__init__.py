"""The API platform every app's ``<app>/api/`` builds on.

- ``exceptions``: the error format (Django's and the domain's exceptions as JSON, the domain's
  ``relcal.errors.Conflict`` as a 409 naming the conflict);
- ``fields``: strict datetimes (offset required, years bounded) and the NUL refusal;
- ``serializers``: the base ``Serializer`` (model serializer with those fields);
- ``filters``: the filter backend (django-filter, hostile input answered 400);
- ``pagination``: page-number pagination;
- ``views``: ``call_service``, the schema's shared error answers, lookup patterns.
"""
