"""/docs: Swagger UI for /openapi.json, from flask-swagger-ui, which ships its
assets, so the page works offline (no CDN)."""

from flask_swagger_ui import get_swaggerui_blueprint


def init_app(app):
    app.register_blueprint(
        get_swaggerui_blueprint(
            "/docs",
            "/openapi.json",
            config={
                "app_name": "Customer Labels API",
                # The token typed into Authorize survives a reload.
                "persistAuthorization": True,
                # No badge fetched from swagger.io: the page makes no outside request.
                "validatorUrl": None,
            },
        )
    )
