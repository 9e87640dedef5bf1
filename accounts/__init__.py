"""Company sign-in (OpenID Connect), the identities it links to Relcal users, roles from the
provider, and electronic signatures that re-authenticate through the provider."""
