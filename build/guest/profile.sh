# Farfetch'd Lab guest shell setup.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export EDITOR=nano
if [ -n "$PS1" ]; then
	PS1='\[\e[1;33m\][farfetchd-lab guest]\[\e[0m\] \u:\w\$ '
	alias ls='ls --color=auto'
fi

# The lab's Suspend saves the machine with QEMU's savevm, which QEMU refuses while the workspace
# share (/root/work) is mounted; and /root/work cannot be unmounted while this shell works in it.
# So the host creates /run/farfetchd-lab/away and sends each registered shell SIGWINCH: the trap
# steps out to / and remembers where it was. After the snapshot the host removes the file and
# sends SIGWINCH again: the trap steps back. SIGWINCH because readline catches it, so bash runs
# the trap at once at an idle prompt (a USR1 trap would wait for the next Enter), silently; and
# because its default action is to be ignored, so a stale pid file can harm no other process.
# A real resize runs the trap too: without the file and with nowhere to go back to, it does nothing.
if [ -n "$PS1" ] && [ -n "$BASH_VERSION" ]; then
	__lab_winch() {
		if [[ -e /run/farfetchd-lab/away ]]; then
			if [[ -z ${__lab_back_to+set} && ($PWD == /root/work || $PWD == /root/work/*) ]]; then
				__lab_back_to=$PWD
				__lab_oldpwd=$OLDPWD
				builtin cd /
			fi
		elif [[ -n ${__lab_back_to+set} ]]; then
			builtin cd -- "$__lab_back_to" 2>/dev/null
			OLDPWD=$__lab_oldpwd
			unset __lab_back_to __lab_oldpwd
		fi
	}
	trap __lab_winch WINCH
	mkdir -p /run/farfetchd-lab/shells 2>/dev/null && : >"/run/farfetchd-lab/shells/$$" 2>/dev/null
fi
