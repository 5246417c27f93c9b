"""`dutyline nlu ...`: the dialogue model's report card."""

from __future__ import annotations

import typer

from nlu.evaluate import evaluate

app = typer.Typer(help="The dialogue (Rasa) model.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """The dialogue (Rasa) model."""


@app.command()
def report(
    rasa_url: str | None = typer.Option(None, help="A running Rasa server; default: settings."),
    locale: str | None = typer.Option(None, help="Locale of the held-out set; default: settings."),
    fail_under: float = typer.Option(0.0, help="Exit 1 when intent accuracy is below this."),
) -> None:
    """Score the running model on the held-out set: intents, entities, confusions."""
    from nlu.settings import DialogueSettings

    settings = DialogueSettings()
    result = evaluate(rasa_url or settings.rasa_url, locale or settings.locale)
    typer.echo(result.render())
    if result.intent_accuracy < fail_under:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
