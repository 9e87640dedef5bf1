"""The API's half of electronic signatures: every signing endpoint takes the signer's password,
or, for people who sign in through the company's provider, a ``signing_ticket`` from
``/accounts/signing-ticket/`` (one re-authentication, one signature, a few minutes)."""

from __future__ import annotations

from rest_framework import serializers


class SignatureFields(serializers.Serializer):
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Your password: this is a signature. People who sign in through the "
        "company's provider send signing_ticket instead.",
    )
    signing_ticket = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="For people who sign in through the company's provider: a ticket from "
        "/accounts/signing-ticket/ (re-authenticates there; one signature, a few minutes).",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not attrs.get("password") and not attrs.get("signing_ticket"):
            raise serializers.ValidationError(
                {
                    "password": "Give your password to sign (or a signing_ticket if you sign "
                    "in through the company's provider)."
                }
            )
        return attrs
