"""What a person does in Jupyter's pages, done by a real browser (tests/support/browser.py):
log in through the form, open a notebook and run a cell, type into a terminal. Notebook 7
and JupyterLab 4 share their widgets (the same CSS classes) but not their URLs.

Setup that is not the point of a test (a new notebook file, a new terminal in Notebook 7)
goes through Jupyter's REST API from the logged-in page itself: the browser's own cookies
and the `_xsrf` token, as Jupyter's frontend sends them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.support.browser import wait_for

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

KERNEL_START = 120  # seconds; a first kernel in a cold instance imports a lot

# Calls from the page, with the page's cookies; the last argument is Selenium's callback.
_XSRF = "document.cookie.split('; ').find(c => c.startsWith('_xsrf=')).slice(6)"
_PUT_NOTEBOOK = f"""
const [path, done] = arguments;
const notebook = {{
  type: 'notebook', format: 'json',
  content: {{
    nbformat: 4, nbformat_minor: 5,
    metadata: {{kernelspec: {{name: 'python3', display_name: 'Python 3 (ipykernel)',
                              language: 'python'}}}},
    cells: [{{cell_type: 'code', id: 'first', source: '', metadata: {{}}, outputs: [],
              execution_count: null}}],
  }},
}};
fetch('/api/contents/' + encodeURIComponent(path), {{
  method: 'PUT', body: JSON.stringify(notebook),
  headers: {{'X-XSRFToken': {_XSRF}, 'Content-Type': 'application/json'}},
}}).then(answer => done(answer.status), error => done(String(error)));
"""
_NEW_TERMINAL = f"""
const done = arguments[arguments.length - 1];
fetch('/api/terminals', {{method: 'POST', headers: {{'X-XSRFToken': {_XSRF}}}}})
  .then(answer => answer.json()).then(terminal => done(terminal.name), e => done(String(e)));
"""
_KERNELS_OF = """
const [path, done] = arguments;
fetch('/api/sessions').then(answer => answer.json()).then(
  sessions => done(sessions.filter(s => s.path === path).map(s => s.kernel)),
  error => done([]));
"""


def _by_css(driver: WebDriver, selector: str) -> list[WebElement]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def home_path(app: str) -> str:
    return "/lab" if app == "lab" else "/tree"


def login_form(driver: WebDriver) -> WebElement:
    """The password field of Jupyter Server's login page, once it is there."""
    fields = wait_for(driver, lambda d: _by_css(d, "input#password_input"), "the login form")
    return fields[0]


def jupyter_page(driver: WebDriver) -> None:
    """Wait for Jupyter's login form or, when logged in already, its file browser."""
    wait_for(
        driver,
        lambda d: _by_css(d, "input#password_input, .jp-DirListing-content"),
        "a Jupyter page",
    )


def submit_password(driver: WebDriver, base: str, password: str) -> None:
    """Log out (the login cookie outlives a restart of the server), then submit `password`
    in the login form."""
    driver.get(f"{base}/logout")
    driver.get(f"{base}/login")
    field = login_form(driver)
    field.send_keys(password)
    _by_css(driver, "#login_submit")[0].click()


def page_text(driver: WebDriver) -> str:
    return str(driver.execute_script("return document.body ? document.body.innerText : ''"))


def refused_with(driver: WebDriver, message: str = "Invalid credentials") -> str:
    """The login page again, with Jupyter's error message on it."""
    wait_for(driver, lambda d: message in page_text(d), f"the message {message!r}")
    return page_text(driver)


def log_in(driver: WebDriver, base: str, password: str, app: str) -> None:
    """Log in through the form and wait for the file browser of `app`."""
    submit_password(driver, base, password)
    wait_for(
        driver,
        lambda d: (
            d.current_url.split("?")[0].endswith(home_path(app))
            and _by_css(d, ".jp-DirListing-content")
        ),
        f"the file browser at {home_path(app)}",
    )


def new_notebook(driver: WebDriver, path: str) -> None:
    """An empty Python notebook at `path`, its kernelspec set so no kernel picker appears."""
    status = driver.execute_async_script(_PUT_NOTEBOOK, path)
    assert status == 201, f"creating {path} from the page: {status}"


def _kernel_connected(driver: WebDriver, path: str) -> bool:
    """The server has the notebook's kernel idle with the page's websocket attached: from
    then on a cell run from the page reaches it (before, the frontend may have no kernel
    object yet and runs nothing)."""
    kernels: list[dict[str, Any]] = driver.execute_async_script(_KERNELS_OF, path)
    return any(k["connections"] > 0 and k["execution_state"] == "idle" for k in kernels)


def _first_editors(driver: WebDriver) -> list[WebElement]:
    return _by_css(driver, ".jp-NotebookPanel .jp-CodeCell .cm-content")[:1]


def _click_first_cell(driver: WebDriver) -> bool:
    for editor in _first_editors(driver):
        editor.click()
        return True
    return False


def run_first_cell(driver: WebDriver, base: str, app: str, path: str, code: str) -> str:
    """Open the notebook at `path` in `app`, type `code` into its first cell, run it with
    Shift+Enter and return what the cell printed."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    # `?reset`: JupyterLab restores the tabs of the last visit otherwise.
    url = f"{base}/lab/tree/{path}?reset" if app == "lab" else f"{base}/notebooks/{path}"
    driver.get(url)
    wait_for(driver, lambda d: _kernel_connected(d, path), "the kernel", KERNEL_START)
    # The cell is re-rendered while the notebook settles: find it afresh for each step.
    wait_for(driver, _click_first_cell, "a cell to click")
    driver.switch_to.active_element.send_keys(code)
    wait_for(
        driver, lambda d: [e for e in _first_editors(d) if e.text == code], f"{code!r} in the cell"
    )
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    outputs = wait_for(
        driver,
        lambda d: [e.text for e in _by_css(d, ".jp-NotebookPanel .jp-OutputArea-output")],
        "the cell's output",
    )
    return "\n".join(outputs)


def open_terminal(driver: WebDriver, base: str, app: str) -> WebElement:
    """A new terminal on its page (Notebook 7) or from JupyterLab's launcher; returns the
    element that takes its keystrokes."""
    if app == "lab":
        _by_css(driver, '[data-command="launcher:create"]')[0].click()
        cards = wait_for(
            driver,
            lambda d: [c for c in _by_css(d, ".jp-LauncherCard") if c.text == "Terminal"],
            "the launcher's Terminal card",
        )
        cards[0].click()
    else:
        name = driver.execute_async_script(_NEW_TERMINAL)
        driver.get(f"{base}/terminals/{name}")
    # xterm draws on a canvas: keystrokes go to its hidden textarea, the effect is checked
    # elsewhere. What is typed before the websocket is up is queued, not lost.
    inputs = wait_for(driver, lambda d: _by_css(d, ".jp-Terminal .xterm-helper-textarea"), "xterm")
    return inputs[0]
