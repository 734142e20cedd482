"""The miniature's OpenAI-compatible API server (what `g4f api` serves).

Same public surface as real g4f's API module, so one launcher serves both:

    create_app(g4f_api_key=None) -> FastAPI   (uvicorn factory; real g4f >= 0.3.2)
    create_app_debug(...)                     (the same, with debug logging)
    run_api(host="0.0.0.0", port=1337, bind=None, debug=False, workers=None,
            use_colors=None, reload=False)    (uvicorn.run("g4f.api:create_app", factory=True))
    AppConfig.set_config(provider=..., model=..., ...)

Endpoints:

    POST /v1/chat/completions   {"model","messages","provider","stream",...}
                                (?provider=NAME works too)
    GET  /v1/models             {"object":"list","data":[{"id","object":"model",...}]}
    GET  /v1/models/{model}
    GET  /v1/providers          [{"id","object":"provider","created","url","label"}],
                                working providers only, like real g4f
    GET  /v1/providers/{name}   the same plus "models", "image_models",
                                "vision_models", "params"; 404 when unknown

Behaviour mirrors g4f 0.3.x's server. The async handler answers through g4f's
*sync* client, on the event-loop thread: the call (and, when streaming, the
iteration of its chunks) re-enters the loop uvicorn runs. Nothing here writes
a loop error message; whatever the loop raises is what the client gets:

  * stream false: an OpenAI chat.completion JSON; any exception -> HTTP 500,
    application/json, {"error": {"message": "Type: text"}, "model", "provider"}
    (unknown provider included: it is resolved before the answer starts).
  * stream true: HTTP 200 text/event-stream, one `data: {chunk}` frame per
    chat.completion.chunk, then `data: [DONE]`; an exception while iterating
    becomes one in-band `data: {"error": ...}` frame, then `data: [DONE]`.

Under uvloop the sync path fails with "this event loop is already running.";
on a stdlib loop with nest_asyncio it re-enters the loop (and nest_asyncio's
patching can strand the tasks that were already running); on a stdlib loop
without nest_asyncio it fails with "This event loop is already running".

Like the real app it has a CORS middleware and an "http" middleware (API key
check), so responses pass through Starlette's BaseHTTPMiddleware.
"""

import inspect
import json
import logging
import secrets
from typing import Optional

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse

import g4f
from g4f import Provider
from g4f.client import Client
from g4f.errors import ProviderNotFoundError

from .stubs import ChatCompletionsConfig, config_values

logger = logging.getLogger(__name__)

DEFAULT_PORT = 1337


class AppConfig:
    """Server-wide defaults, as `g4f api --provider ... --model ...` sets them."""

    ignored_providers = None
    g4f_api_key = None
    model = None
    provider = None
    debug = False

    @classmethod
    def set_config(cls, **data):
        for key, value in data.items():
            setattr(cls, key, value)


def create_app(g4f_api_key=None):
    """The FastAPI app (a uvicorn factory)."""
    if g4f_api_key is not None:
        AppConfig.g4f_api_key = g4f_api_key
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    api = Api(app)
    api.register_routes()
    api.register_authorization()
    api.register_validation_exception_handler()
    if AppConfig.ignored_providers:
        for name in AppConfig.ignored_providers:
            if name in Provider.ProviderUtils.convert:
                Provider.ProviderUtils.convert[name].working = False
    return app


def create_app_debug(g4f_api_key=None):
    AppConfig.debug = True
    logger.setLevel(logging.DEBUG)
    return create_app(g4f_api_key)


# ---------------------------------------------------------------------------
# JSON shapes
# ---------------------------------------------------------------------------

def to_json(value):
    """Response objects (the client's stubs) as plain JSON values."""
    method = getattr(value, "to_json", None)
    if callable(method):
        return method()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: to_json(v) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def completion_json(completion):
    data = to_json(completion)
    if isinstance(data, dict):
        data.setdefault("usage", {"prompt_tokens": 0, "completion_tokens": 0,
                                  "total_tokens": 0})
    return data


def format_exception(error, config=None):
    """{"error": {"message": "Type: text"}, "model": ..., "provider": ...},
    the model and provider the request asked for (provider left out when
    none was named)."""
    if isinstance(error, str):
        message = error
    else:
        message = "%s: %s" % (error.__class__.__name__, error)
    body = {"error": {"message": message}}
    model = AppConfig.model
    provider = AppConfig.provider
    if config is not None:
        if config.model is not None:
            model = config.model
        if config.provider is not None:
            provider = config.provider
    if model is not None:
        body["model"] = model
    if provider is not None:
        body["provider"] = provider
    return json.dumps(body)


def error_response(error, config=None, status_code=500):
    return Response(content=format_exception(error, config), status_code=status_code,
                    media_type="application/json")


# ---------------------------------------------------------------------------
# Providers and models
# ---------------------------------------------------------------------------

def provider_label(cls):
    return getattr(cls, "label", None) or cls.__name__


def provider_models(cls):
    models = list(getattr(cls, "models", None) or [])
    default = getattr(cls, "default_model", None)
    if default and default not in models:
        models.insert(0, default)
    return models


def provider_params(cls):
    """The keyword arguments a provider's own create method takes."""
    for name in ("create_async_generator", "create_async", "create_completion"):
        for klass in cls.__mro__:
            method = klass.__dict__.get(name)
            if method is None or getattr(getattr(method, "__func__", method),
                                         "__isabstractmethod__", False):
                continue
            func = getattr(method, "__func__", method)
            try:
                params = inspect.signature(func).parameters.values()
            except (TypeError, ValueError):
                return []
            skip = ("cls", "self", "model", "messages")
            return [p.name for p in params
                    if p.name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return []


def working_providers():
    return [cls for cls in Provider.__providers__ if getattr(cls, "working", False)]


def all_models():
    seen = []
    for cls in Provider.__providers__:
        for model in provider_models(cls):
            if model not in seen:
                seen.append(model)
    return seen


def pick_provider(model):
    """The provider for a request that names none: the first working one
    that serves the model (any working one for an empty model)."""
    for cls in working_providers():
        if not model or model in provider_models(cls):
            return cls.__name__
    raise ProviderNotFoundError("No provider found for model: %s" % model)


# ---------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------

class Api:
    def __init__(self, app):
        self.app = app
        # The sync client: the 0.3.x conflict path (see the module docstring).
        self.client = Client()

    def register_authorization(self):
        @self.app.middleware("http")
        async def authorization(request: Request, call_next):
            key = AppConfig.g4f_api_key
            if key and request.url.path.startswith("/v1/"):
                given = request.headers.get("g4f-api-key")
                if given is None:
                    return error_response("G4F API key required", status_code=401)
                if not secrets.compare_digest(key, given):
                    return error_response("Invalid G4F API key", status_code=403)
            return await call_next(request)

    def register_validation_exception_handler(self):
        @self.app.exception_handler(RequestValidationError)
        async def validation_exception_handler(request: Request, exc: RequestValidationError):
            details = [{"loc": error["loc"], "message": error["msg"], "type": error["type"]}
                       for error in exc.errors()]
            return JSONResponse(status_code=422,
                                content=jsonable_encoder({"detail": details}))

    def register_routes(self):
        app = self.app

        @app.get("/")
        async def read_root():
            return RedirectResponse("/v1", 302)

        @app.get("/v1")
        async def read_root_v1():
            return HTMLResponse('g4f API (miniature): Go to '
                                '<a href="/v1/models">models</a>, '
                                '<a href="/v1/providers">providers</a> or '
                                '<a href="/v1/chat/completions">chat/completions</a>.')

        @app.get("/v1/models")
        async def models():
            data = [{"id": model, "object": "model", "created": 0,
                     "owned_by": "miniature", "image": False, "provider": False}
                    for model in all_models()]
            data += [{"id": cls.__name__, "object": "model", "created": 0,
                      "owned_by": provider_label(cls), "image": False, "provider": True}
                     for cls in working_providers()]
            return {"object": "list", "data": data}

        @app.get("/v1/models/{model_name}")
        async def model_info(model_name: str):
            if model_name in all_models():
                return {"id": model_name, "object": "model", "created": 0,
                        "owned_by": "miniature"}
            return error_response("The model does not exist.", status_code=404)

        @app.get("/v1/providers")
        async def providers():
            return [{"id": cls.__name__, "object": "provider", "created": 0,
                     "url": cls.url, "label": getattr(cls, "label", None)}
                    for cls in working_providers()]

        @app.get("/v1/providers/{provider}")
        async def providers_info(provider: str):
            cls = Provider.ProviderUtils.convert.get(provider)
            if cls is None:
                return error_response("The provider does not exist.", status_code=404)
            return {"id": cls.__name__, "object": "provider", "created": 0,
                    "url": cls.url, "label": getattr(cls, "label", None),
                    "models": provider_models(cls), "image_models": [],
                    "vision_models": [], "params": provider_params(cls)}

        @app.post("/v1/chat/completions")
        async def chat_completions(config: ChatCompletionsConfig, request: Request,
                                   provider: Optional[str] = None):
            try:
                if config.provider is None:
                    config.provider = provider or AppConfig.provider
                if config.api_key is None:
                    auth = request.headers.get("Authorization")
                    if auth:
                        token = auth.split(None, 1)[-1]
                        if token and token != "Bearer":
                            config.api_key = token
                extra = config_values(config)
                for field in ("model", "messages", "provider", "stream"):
                    extra.pop(field, None)
                # A sync call inside this coroutine, on the loop's own thread.
                response = self.client.chat.completions.create(
                    model=config.model or AppConfig.model or "",
                    messages=config.messages,
                    provider=config.provider or pick_provider(config.model),
                    stream=config.stream,
                    **extra)
                if not config.stream:
                    return JSONResponse(completion_json(response))
                return StreamingResponse(self.events(response, config),
                                         media_type="text/event-stream")
            except Exception as error:
                logger.exception(error)
                return error_response(error, config)

        @app.post("/v1/completions")
        async def completions():
            return Response(content=json.dumps({"info": "Not working yet."}, indent=4),
                            media_type="application/json")

    async def events(self, response, config):
        """The SSE body. An async generator on purpose: Starlette iterates it
        on the loop (a sync one would go to a thread pool), so each step of
        the sync chunk iterator below runs on the loop thread."""
        try:
            for chunk in response:
                yield "data: %s\n\n" % json.dumps(to_json(chunk))
        except Exception as error:
            logger.exception(error)
            yield "data: %s\n\n" % format_exception(error, config)
        yield "data: [DONE]\n\n"


def run_api(host="0.0.0.0", port=None, bind=None, debug=False, workers=None,
            use_colors=None, reload=False):
    """Serve the app with uvicorn (which picks uvloop when importable)."""
    import uvicorn

    print("Starting server... [g4f v-%s]%s" % (g4f.__version__, " (debug)" if debug else ""))
    if use_colors is None:
        use_colors = debug
    if bind is not None:
        host, port = bind.rsplit(":", 1)
    if port is None:
        port = DEFAULT_PORT
    uvicorn.run("g4f.api:%s" % ("create_app_debug" if debug else "create_app"),
                host=host, port=int(port), workers=workers, use_colors=use_colors,
                factory=True, reload=reload)
