from django import template
from django.utils import timezone

from backoffice.dashboard import figures

register = template.Library()


@register.inclusion_tag("backoffice/dashboard.html", takes_context=True)
def dashboard(context):
    return {"figures": figures(now=timezone.now())}
