module wasplug.test/echo

go 1.21
