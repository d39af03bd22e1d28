"""A small FastAPI service whose secrets come from a file sealed with cachet.

Run it behind `cachet exec`, which opens the sealed file and starts the server with
every value as an environment variable (nested keys joined with `__`):

    cachet exec -f config.sealed.toml --separator __ -- \
        python3 -m uvicorn app:app --host 127.0.0.1 --port 8000

The app itself knows nothing of cachet: it reads plain environment variables with
pydantic-settings. Routes:

    GET  /healthz   liveness, no secrets
    POST /token     OAuth2 password flow (form fields username, password): a
                    short-lived HS256 access token
    GET  /me        the token's subject; needs `Authorization: Bearer <token>`
"""

import hmac
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit, urlunsplit

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ALGORITHM = "HS256"


class Section(BaseModel):
    # A validation error must never echo a value: it could be a secret.
    model_config = ConfigDict(hide_input_in_errors=True)


class DatabaseSettings(Section):
    url: str  # DATABASE__URL, without the password
    password: SecretStr  # DATABASE__PASSWORD

    def dsn(self) -> str:
        """The connection string, with the password put into the URL."""
        parts = urlsplit(self.url)
        if not parts.username or not parts.hostname:
            raise ValueError("database.url needs a user and a host")
        secret = quote(self.password.get_secret_value(), safe="")
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:{secret}@{host}"))


class JwtSettings(Section):
    signing_key: SecretStr = Field(min_length=32)  # JWT__SIGNING_KEY
    issuer: str  # JWT__ISSUER
    audience: str  # JWT__AUDIENCE
    token_ttl_seconds: int = Field(default=300, gt=0, le=3600)


class DemoUserSettings(Section):
    username: str
    password: SecretStr


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__", hide_input_in_errors=True)

    database: DatabaseSettings
    jwt: JwtSettings
    demo_user: DemoUserSettings


settings = Settings()


@asynccontextmanager
async def lifespan(app: FastAPI):
    # A real service would open its connection pool with this DSN here; the example
    # only builds it, so it runs without a database.
    app.state.database_dsn = settings.database.dsn()
    yield


app = FastAPI(title="cachet FastAPI example", lifespan=lifespan)
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class User(BaseModel):
    username: str


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def same(given: str, expected: str) -> bool:
    """Constant-time comparison (bytes, so any Unicode input is accepted)."""
    return hmac.compare_digest(given.encode(), expected.encode())


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/token")
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    user = settings.demo_user
    # Both comparisons always run, so the time taken does not tell which failed.
    name_ok = same(form.username, user.username)
    password_ok = same(form.password, user.password.get_secret_value())
    if not (name_ok and password_ok):
        raise unauthorized("Incorrect username or password")
    now = datetime.now(UTC)
    ttl = settings.jwt.token_ttl_seconds
    claims = {
        "sub": user.username,
        "iss": settings.jwt.issuer,
        "aud": settings.jwt.audience,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    token = jwt.encode(claims, settings.jwt.signing_key.get_secret_value(), algorithm=ALGORITHM)
    return Token(access_token=token, expires_in=ttl)


def current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> User:
    try:
        claims = jwt.decode(
            token,
            settings.jwt.signing_key.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=settings.jwt.issuer,
            audience=settings.jwt.audience,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.InvalidTokenError:
        raise unauthorized("Could not validate credentials") from None
    if not same(claims["sub"], settings.demo_user.username):
        raise unauthorized("Could not validate credentials")
    return User(username=claims["sub"])


@app.get("/me")
def me(user: Annotated[User, Depends(current_user)]) -> User:
    return user
