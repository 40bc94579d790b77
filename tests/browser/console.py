"""What a page says on its console while a browser test runs."""


def watch_errors(page, expected=("Failed to load resource",)):
    """The page's errors, as a list that fills while the test runs: script errors, and
    console errors other than the `expected` ones. 4xx answers are expected (htmx swaps a
    422 form); anything else on the console is a bug."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda msg: (
            msg.type == "error" and not msg.text.startswith(expected) and errors.append(msg.text)
        ),
    )
    return errors
