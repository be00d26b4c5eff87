"""Each notice's template in each language: the settings' ``[[sms.templates]]`` over the
built-in texts, checked (compiled in jinja2's sandbox) when the server starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ctiserver.notices.model import DEFAULT_TEMPLATES, LANGUAGES, NOTICES, check_template
from ctiserver.settings import SmsTemplate


@dataclass(frozen=True)
class Template:
    text: str
    #: the provider's own template code ("" for the provider's default)
    provider_code: str = ""


class Templates:
    def __init__(self, configured: Sequence[SmsTemplate] = (), default_code: str = "") -> None:
        """TemplateRefused if one does not compile or names an unknown notice or language."""
        self._templates = {key: Template(text, default_code) for key, text in DEFAULT_TEMPLATES.items()}
        for template in configured:
            check_template(template.notice, template.language, template.text)
            self._templates[(template.notice, template.language)] = Template(
                template.text, template.provider_code or default_code
            )
        for notice in NOTICES:
            for language in LANGUAGES:
                check_template(notice, language, self._templates[(notice, language)].text)

    def get(self, notice: str, language: str) -> Template:
        return self._templates.get((notice, language)) or self._templates[(notice, "zh")]
