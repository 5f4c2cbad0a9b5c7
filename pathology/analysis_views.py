"""Analysis pages: every plot as a PNG with a CSV of exactly the data behind it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def analyses(request: HttpRequest) -> HttpResponse:
    return render(request, "pathology/analyses.html", {"plots": []})


def plot_png(request: HttpRequest) -> HttpResponse:
    raise Http404


def plot_csv(request: HttpRequest) -> HttpResponse:
    raise Http404
