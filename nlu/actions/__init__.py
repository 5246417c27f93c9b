"""The dialogue's custom actions, served by the app at POST /rasa/actions."""

from nlu.actions.server import router

__all__ = ["router"]
