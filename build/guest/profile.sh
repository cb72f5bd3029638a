# Farfetch'd Lab guest shell setup.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export EDITOR=nano
if [ -n "$PS1" ]; then
	PS1='\[\e[1;33m\][farfetchd-lab guest]\[\e[0m\] \u:\w\$ '
	alias ls='ls --color=auto'
fi
