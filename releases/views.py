from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from .models import Release


@login_required
def release_list(request):
    return HttpResponse("releases")


@login_required
def release_detail(request, pk):
    return HttpResponse(get_object_or_404(Release, pk=pk).name)
