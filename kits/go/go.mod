module wasplug.dev/kit

go 1.21
