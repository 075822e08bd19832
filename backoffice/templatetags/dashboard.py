from django import template
from django.utils import timezone

from backoffice.dashboard import Links, figures

register = template.Library()


@register.inclusion_tag("backoffice/dashboard.html", takes_context=True)
def dashboard(context):
    # Each role sees every figure, linked only to the lists it may open.
    return {"figures": figures(now=timezone.now(), links=Links(context["request"]))}
